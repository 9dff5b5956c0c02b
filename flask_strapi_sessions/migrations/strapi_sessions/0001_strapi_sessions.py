"""Create the strapi_sessions table: one row per session, rotated in place.

Revision ID: fss0001_sessions
Branch: strapi_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "fss0001_sessions"
down_revision = None
branch_labels = ("strapi_sessions",)
depends_on = None

# BIGINT primary keys do not autoincrement on SQLite; INTEGER does everywhere.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "strapi_sessions",
        sa.Column("id", ID, primary_key=True, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("device_name", sa.String(64), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("previous_token_hash", sa.String(64), nullable=True),
        sa.Column("successor_sealed", sa.String(512), nullable=True),
        sa.Column("rotated_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=False),
        sa.Column("idle_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("absolute_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_reason", sa.String(32), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_strapi_sessions"),
        sa.UniqueConstraint("session_id", name="uq_strapi_sessions_session_id"),
    )
    # a user's sessions in one origin (listing, logout everywhere, password change)
    op.create_index("ix_strapi_sessions_user", "strapi_sessions", ["user_id", "origin", "status"])
    # purge: one range scan per expiry condition
    op.create_index("ix_strapi_sessions_idle_expires_at", "strapi_sessions", ["idle_expires_at"])
    op.create_index(
        "ix_strapi_sessions_absolute_expires_at", "strapi_sessions", ["absolute_expires_at"]
    )
    op.create_index("ix_strapi_sessions_revoked_at", "strapi_sessions", ["revoked_at"])


def downgrade() -> None:
    op.drop_table("strapi_sessions")
