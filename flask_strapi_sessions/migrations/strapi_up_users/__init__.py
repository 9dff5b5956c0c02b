"""Migration scripts of the strapi_up_users branch (Alembic skips this file)."""
