"""SQLAlchemy models: the session table shared by both origins, and the bundled users.

The models live on their own declarative base so the package imports without an app.
``StrapiSessions.init_app`` copies the tables it uses into the app's ``db.metadata`` so
``db.create_all()``, Flask-Migrate and Alembic autogenerate see them like the app's own.
Times are integer epoch milliseconds, as in Strapi's table.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT primary keys do not autoincrement on SQLite; INTEGER does everywhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the extension's own tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


ACTIVE = "active"
REVOKED = "revoked"


class StrapiSession(Base):
    """One login on one device: a single row for the session's whole life.

    Rotation updates the row in place (compare-and-set on ``token_hash``), so the table
    grows by one row per login, not per refresh. ``previous_token_hash`` and
    ``successor_sealed`` serve the grace window; ``generation`` lets reuse of any older
    ancestor be recognised.
    """

    __tablename__ = "strapi_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(128))
    device_name: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    token_hash: Mapped[str] = mapped_column(String(64))
    previous_token_hash: Mapped[str | None] = mapped_column(String(64))
    successor_sealed: Mapped[str | None] = mapped_column(String(512))
    rotated_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_used_at: Mapped[int] = mapped_column(BigInteger)
    idle_expires_at: Mapped[int] = mapped_column(BigInteger)
    absolute_expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))

    # Constraint names are spelled out: a copy of the table in the app's metadata keeps
    # them, so db.create_all() and the shipped migrations build the same schema.
    __table_args__ = (
        UniqueConstraint("session_id", name="uq_strapi_sessions_session_id"),
        Index("ix_strapi_sessions_user", "user_id", "origin", "status"),
        Index("ix_strapi_sessions_absolute_expires_at", "absolute_expires_at"),
        Index("ix_strapi_sessions_idle_expires_at", "idle_expires_at"),
        Index("ix_strapi_sessions_revoked_at", "revoked_at"),
    )

    def is_live(self, now_ms: int) -> bool:
        """Active and inside both its idle and its absolute lifespan."""
        return (
            self.status == ACTIVE
            and now_ms < self.idle_expires_at
            and now_ms < self.absolute_expires_at
        )


class UpUser(Base):
    """The bundled content-API (users-permissions) user."""

    __tablename__ = "up_users"
    __table_args__ = (
        UniqueConstraint("document_id", name="uq_up_users_document_id"),
        UniqueConstraint("username", name="uq_up_users_username"),
        UniqueConstraint("email", name="uq_up_users_email"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(64), default="local")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class AdminUser(Base):
    """The bundled admin (back-office) user."""

    __tablename__ = "admin_users"
    __table_args__ = (
        UniqueConstraint("document_id", name="uq_admin_users_document_id"),
        UniqueConstraint("email", name="uq_admin_users_email"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(32))
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    prefered_language: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
