"""Outbound webhooks: workspaces subscribe URLs to events, delivered signed (Standard Webhooks)
with retries and a delivery log."""
