"""Create the admin_users table: the bundled admin (back-office) user.

Revision ID: fss0001_admin_users
Branch: strapi_admin_users (skip it when the admin uses the app's own user model)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fss0001_admin_users"
down_revision = None
branch_labels = ("strapi_admin_users",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_users",
        sa.Column("id", ID, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(32), nullable=False),
        sa.Column("firstname", sa.String(255), nullable=True),
        sa.Column("lastname", sa.String(255), nullable=True),
        sa.Column("username", sa.String(255), nullable=True),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("prefered_language", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_users"),
        sa.UniqueConstraint("document_id", name="uq_admin_users_document_id"),
        sa.UniqueConstraint("email", name="uq_admin_users_email"),
    )


def downgrade() -> None:
    op.drop_table("admin_users")
