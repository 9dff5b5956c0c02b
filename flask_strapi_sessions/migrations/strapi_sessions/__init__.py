"""Migration scripts of the strapi_sessions branch (Alembic skips this file)."""
