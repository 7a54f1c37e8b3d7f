"""Users, workspaces, memberships and roles, API keys, and the auth subject."""
