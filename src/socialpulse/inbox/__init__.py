"""Engagement inbox: interactions from every platform, fans and superfans, workflows, and the
human-paced reply queue."""
