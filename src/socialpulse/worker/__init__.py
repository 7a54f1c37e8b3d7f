"""Task engine: Huey (embedded SQLite or Redis), after-commit enqueueing, durable leased jobs."""
