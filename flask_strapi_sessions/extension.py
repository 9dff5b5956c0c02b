"""``StrapiSessions``: the composition root that wires settings, stores and blueprints."""

from __future__ import annotations

import itertools
import time
from typing import Any

from flask import Flask

from . import sessions
from .cli import strapi_cli
from .config import ADMIN, USERS_PERMISSIONS, load_settings
from .models import AdminUser, StrapiSession, UpUser
from .ratelimit import RateLimiter
from .state import EXTENSION_KEY, AppState, OriginRuntime, get_state
from .store import OPERATOR, Clock, SessionStore
from .users import AdminUserStore, ContentUserStore, PasswordHasher, UserStore
from .views import admin as admin_views
from .views import content as content_views


class StrapiSessions:
    """Strapi v5 session management for a Flask app.

    ``StrapiSessions(app, db)``, or ``ext = StrapiSessions(db=db)`` then
    ``ext.init_app(app)`` in a factory. ``db`` is the app's Flask-SQLAlchemy instance.

    :param up_users: how the content API finds its users (default: the bundled
        ``UpUser`` model). Pass ``ContentUserStore(MyUser)`` for a model with the same
        attribute names, or a subclass for another shape.
    :param admin_users: the same for the admin origin (default: ``AdminUser``).
    :param clock: returns the time in epoch seconds; inject one in tests.
    :param password_hasher: defaults to Argon2id at OWASP strength.
    """

    def __init__(
        self,
        app: Flask | None = None,
        db: Any = None,
        *,
        up_users: UserStore | None = None,
        admin_users: UserStore | None = None,
        clock: Clock | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self.db = db
        self.up_users = up_users
        self.admin_users = admin_users
        self.clock = clock
        self.password_hasher = password_hasher
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, db: Any = None) -> None:
        """Read and validate the configuration and register the blueprints on ``app``."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "StrapiSessions is already registered on this app: call init_app once per app "
                "(a factory should create the app, then call ext.init_app(app) one time)."
            )
        db = db or self.db
        if db is None or "sqlalchemy" not in app.extensions:
            raise RuntimeError(
                "StrapiSessions needs the app's Flask-SQLAlchemy instance: create "
                "`db = SQLAlchemy(app)` (or call db.init_app(app)) and pass "
                "StrapiSessions(app, db) / StrapiSessions(db=db)."
            )
        settings = load_settings(app.config)
        clock = self.clock or time.time
        up_users = self.up_users or ContentUserStore()
        admin_users = self.admin_users or AdminUserStore()
        state = AppState(
            settings=settings,
            admin=OriginRuntime(settings.admin, SessionStore(settings.admin, clock), admin_users),
            up=OriginRuntime(settings.up, SessionStore(settings.up, clock), up_users),
            db=db,
            clock=clock,
            hasher=self.password_hasher or PasswordHasher(),
            limiter=RateLimiter(
                settings.ratelimit_storage_uri, namespace=settings.ratelimit_key_prefix
            ),
            logins=itertools.count(1),
        )
        app.extensions[EXTENSION_KEY] = state
        self._register_tables(state)
        if settings.admin.enabled:
            app.register_blueprint(admin_views.blueprint(state.admin))
        if settings.up.enabled:
            app.register_blueprint(content_views.blueprint(state.up))
        if "strapi" not in app.cli.commands:
            app.cli.add_command(strapi_cli)

    @staticmethod
    def _register_tables(state: AppState) -> None:
        """Put the tables in use into ``db.metadata`` so ``db.create_all()`` makes them."""
        models: list[type[Any]] = [StrapiSession]
        if state.settings.up.enabled and state.up.users.model is UpUser:
            models.append(UpUser)
        if state.settings.admin.enabled and state.admin.users.model is AdminUser:
            models.append(AdminUser)
        tables = [model.__table__ for model in models]
        metadata = state.db.metadata
        for table in tables:
            if table.name not in metadata.tables:
                table.to_metadata(metadata)

    # -- the programmatic session API (needs an app context) ---------------------

    @staticmethod
    def list_sessions(user_id: str | int, origin: str = USERS_PERMISSIONS) -> list[StrapiSession]:
        """The user's live sessions in ``origin``, most recently used first."""
        return sessions.list_sessions(origin, str(user_id))

    @staticmethod
    def revoke_session(session_id: str, origin: str = USERS_PERMISSIONS) -> bool:
        """Revoke one session; True when it was live."""
        return bool(sessions.revoke(origin, [session_id], OPERATOR))

    @staticmethod
    def revoke_all(user_id: str | int, origin: str = USERS_PERMISSIONS) -> list[str]:
        """Revoke every session of the user in ``origin``."""
        return sessions.revoke_user_sessions(origin, str(user_id), OPERATOR)

    @staticmethod
    def revoke_others(
        user_id: str | int, keep_session_id: str, origin: str = USERS_PERMISSIONS
    ) -> list[str]:
        """Revoke every session of the user in ``origin`` except ``keep_session_id``."""
        return sessions.revoke_user_sessions(
            origin, str(user_id), OPERATOR, except_session=keep_session_id
        )

    @staticmethod
    def purge_expired(batch_size: int = 1000, max_batches: int | None = None) -> int:
        """Delete expired and long-revoked session rows in batches; returns how many."""
        return sessions.purge_expired(batch_size=batch_size, max_batches=max_batches)

    @staticmethod
    def state() -> AppState:
        """The current app's state (settings, stores); for advanced use and tests."""
        return get_state()


__all__ = ["ADMIN", "USERS_PERMISSIONS", "StrapiSessions"]
