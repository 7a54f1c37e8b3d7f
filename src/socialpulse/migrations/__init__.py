"""Alembic migrations. They live inside the package so an installed `socialpulse migrate`
finds them; tests build their schema through them too."""
