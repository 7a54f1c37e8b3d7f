"""Account analytics: honest growth deltas, engagement, top posts, hashtags, best times,
cross-account comparison and CSV export. Read-only; every query is scoped to the workspace."""
