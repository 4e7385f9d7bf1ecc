"""Alembic migrations; `assistantd migrate` or server start-up runs them."""
