"""Plugging an app's own user model into the content API.

The app already has users: a ``Member`` model with its own column names (``member_id``,
``handle``, ``email_address``, ``secret_hash``, ``disabled``, ``level``). A
:class:`~flask_strapi_sessions.ContentUserStore` subclass, ``MemberStore``, tells the
extension how to find, check, create and show members; the Strapi routes, sessions,
decorators and CLI work unchanged on top of it::

    JWT_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(32))') \\
        flask --app examples/custom_user.py run

Then ``POST /api/auth/local/register`` creates a ``Member``, ``POST /api/auth/local``
logs in with the e-mail (any case) or the handle, and ``GET /api/editor/notes`` needs the
``editor`` level: ``flask --app examples/custom_user.py set-level alice editor``.

Only the content API is served here (``ADMIN_ENABLED`` is false); the bundled
``up_users`` table is not created, because the extension only adds the bundled tables it
uses. ``SQLALCHEMY_DATABASE_URI`` and every SPEC key come from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, String, func, or_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_strapi_sessions import ContentUserStore, StrapiSessions, current_user, login_required
from flask_strapi_sessions.users import iso_time


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC: portable to every database


class Member(db.Model):  # type: ignore[name-defined,misc]
    """The app's own user model; nothing in it knows about Strapi."""

    __tablename__ = "members"

    member_id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    email_address: Mapped[str] = mapped_column(String(255), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    level: Mapped[str] = mapped_column(String(32), default="reader")
    joined: Mapped[datetime] = mapped_column(DateTime, default=_utcnow)


class MemberStore(ContentUserStore):
    """Maps what the content API needs onto ``Member``'s columns.

    ``get`` is inherited: it turns the id from the token back into an int and loads the
    row by primary key, which works for ``member_id`` as is.
    """

    def __init__(self) -> None:
        super().__init__(Member)

    def find_for_login(self, db: Session, identifier: str) -> Member | None:
        """Strapi's rule: the e-mail in any case, else the exact handle."""
        by_email = select(Member).where(func.lower(Member.email_address) == identifier.lower())
        member = db.execute(by_email).scalar_one_or_none()
        if member is None:
            member = db.execute(
                select(Member).where(Member.handle == identifier)
            ).scalar_one_or_none()
        return member

    def user_id(self, user: Member) -> str:
        return str(user.member_id)

    def is_active(self, user: Member) -> bool:
        return not user.disabled

    def roles_of(self, user: Member) -> set[str]:
        """What ``login_required(roles=[...])`` checks against."""
        return {user.level}

    def password_hash(self, user: Member) -> str | None:
        return user.secret_hash

    def set_password_hash(self, user: Member, password_hash: str) -> None:
        user.secret_hash = password_hash

    def to_json(self, user: Member) -> dict[str, Any]:
        """The member as the API shows it: Strapi's field names, never the hash."""
        return {
            "id": user.member_id,
            "username": user.handle,
            "email": user.email_address,
            "level": user.level,
            "blocked": user.disabled,
            "createdAt": iso_time(user.joined),
        }

    def exists_any(self, db: Session) -> bool:
        return db.execute(select(Member.member_id).limit(1)).first() is not None

    def is_taken(self, db: Session, fields: dict[str, str]) -> bool:
        query = select(Member.member_id).where(
            or_(
                func.lower(Member.email_address) == fields["email"].lower(),
                Member.handle == fields["username"],
            )
        )
        return db.execute(query.limit(1)).first() is not None

    def create(self, db: Session, fields: dict[str, Any], password_hash: str) -> Member:
        """``fields`` holds the registration's ``username`` and ``email``."""
        member = Member(
            handle=fields["username"], email_address=fields["email"], secret_hash=password_hash
        )
        db.add(member)
        db.flush()
        return member


def create_app(config: Mapping[str, Any] | None = None, **strapi_options: Any) -> Flask:
    """The example app; ``config`` overrides the defaults and the environment.

    ``strapi_options`` go to :class:`StrapiSessions` (a test passes its clock there).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'members.sqlite'}"
    )
    app.config["ADMIN_ENABLED"] = False
    app.config["UP_JWT_MANAGEMENT"] = "refresh"
    app.config.update(config or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    StrapiSessions(app, db, up_users=MemberStore(), **strapi_options)
    with app.app_context():
        db.create_all()

    @app.get("/api/editor/notes")
    @login_required(roles=["editor"])
    def editor_notes() -> Any:
        """Only members at the ``editor`` level get here; anyone else gets a 403."""
        return jsonify(data=[{"title": "Welcome, editors"}], editor=current_user.handle)

    @app.cli.command("set-level")
    @click.argument("handle")
    @click.argument("level")
    def set_level(handle: str, level: str) -> None:
        """Give the member HANDLE the role LEVEL (e.g. editor)."""
        member = db.session.execute(
            select(Member).where(Member.handle == handle)
        ).scalar_one_or_none()
        if member is None:
            raise click.ClickException(f"no member with handle {handle!r}")
        member.level = level
        db.session.commit()
        click.echo(f"{handle} is now {level}.")

    return app
