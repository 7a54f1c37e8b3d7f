"""Performance alerts: per-account rules evaluated after each fetch, alerts that fire once per
episode, shown on the overview, sent to webhooks and by e-mail."""
