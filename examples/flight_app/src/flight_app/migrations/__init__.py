"""Alembic migrations for flight_app's whole schema, authkit's tables included."""
