"""Create the up_users table: the bundled content-API (users-permissions) user.

Revision ID: fss0001_up_users
Branch: strapi_up_users (skip it when the content API uses the app's own user model)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fss0001_up_users"
down_revision = None
branch_labels = ("strapi_up_users",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "up_users",
        sa.Column("id", ID, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_up_users"),
        sa.UniqueConstraint("document_id", name="uq_up_users_document_id"),
        sa.UniqueConstraint("username", name="uq_up_users_username"),
        sa.UniqueConstraint("email", name="uq_up_users_email"),
    )


def downgrade() -> None:
    op.drop_table("up_users")
