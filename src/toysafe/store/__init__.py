"""Persistence adapter: SQLAlchemy 2 models, Alembic migrations, workspace operations."""
