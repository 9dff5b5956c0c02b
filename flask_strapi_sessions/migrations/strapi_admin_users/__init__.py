"""Migration scripts of the strapi_admin_users branch (Alembic skips this file)."""
