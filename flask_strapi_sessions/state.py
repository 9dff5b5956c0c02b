"""Per-app state, kept in ``app.extensions["strapi_sessions"]`` and reached through one lookup."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from .config import ADMIN, OriginSettings, Settings
from .ratelimit import RateLimiter
from .session_check import SessionCheck
from .store import Clock, SessionStore
from .users import PasswordHasher, UserStore

EXTENSION_KEY = "strapi_sessions"


@dataclass(frozen=True)
class OriginRuntime:
    """What one origin needs at request time: settings, stores, and the request check."""

    settings: OriginSettings
    sessions: SessionStore
    users: UserStore
    check: SessionCheck = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", SessionCheck(self.settings, self.sessions, self.users))

    @property
    def name(self) -> str:
        return self.settings.origin


@dataclass(frozen=True)
class AppState:
    """Everything the extension keeps for one app."""

    settings: Settings
    admin: OriginRuntime
    up: OriginRuntime
    db: Any  # flask_sqlalchemy.SQLAlchemy
    clock: Clock
    hasher: PasswordHasher
    limiter: RateLimiter
    logins: itertools.count[int]  # counts logins; every Nth purges a batch of old rows

    def origin(self, name: str) -> OriginRuntime:
        return self.admin if name == ADMIN else self.up

    @property
    def session(self) -> Session:
        """The app's SQLAlchemy session for this request or app context."""
        session: Session = self.db.session
        return session


def get_state() -> AppState:
    """The current app's state; a clear error when ``init_app`` was never called."""
    try:
        state: AppState = current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "flask_strapi_sessions is not registered on this app: call "
            "StrapiSessions(app, db) or ext.init_app(app) first."
        ) from None
    return state
