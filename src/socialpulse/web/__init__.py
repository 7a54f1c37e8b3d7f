"""Server-rendered dashboard: views call the same services as the JSON API."""
