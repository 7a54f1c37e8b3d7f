"""Tracked accounts, their posts, daily snapshots, per-post metric history, fetch runs and
API usage budgets."""
