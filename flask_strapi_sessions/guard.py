"""Authenticating requests: the decorators, ``current_user`` and ``current_session``.

``@login_required`` (content API) and ``@login_required(origin="admin")`` verify the
Bearer access token, check that its session is still live and its user still active,
and make both available as ``current_user`` / ``current_session``. ``authenticate`` is
the imperative twin for code that is not a view.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar, cast, overload

from flask import current_app, g, request
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.local import LocalProxy

from . import tokens
from .config import ADMIN, USERS_PERMISSIONS
from .errors import ForbiddenError, ServiceUnavailableError, UnauthorizedError, bearer_challenge
from .models import StrapiSession
from .session_check import Snapshot
from .state import AppState, OriginRuntime, get_state
from .users import UserStore

logger = logging.getLogger("flask_strapi_sessions")
F = TypeVar("F", bound=Callable[..., Any])


_UNSET: Any = object()


class Principal:
    """Who made this request: origin, user, their live session (None in legacy mode).

    The guard checks the session and the user in one query; the user *object* is
    loaded through the user store only when something reads :attr:`user`, and the
    session object is built from the row already read when something reads
    :attr:`session`.
    """

    __slots__ = ("_db", "_session", "_snapshot", "_user", "_users", "claims", "origin")

    def __init__(
        self,
        origin: str,
        user: Any = _UNSET,
        session: StrapiSession | None = _UNSET,
        claims: tokens.AccessClaims | None = None,
        *,
        snapshot: Snapshot | None = None,
        users: UserStore | None = None,
        db: Any = None,
    ) -> None:
        self.origin = origin
        self.claims = cast(tokens.AccessClaims, claims)
        self._user = user
        self._session = session
        self._snapshot = snapshot
        self._users = users
        self._db = db

    @property
    def user(self) -> Any:
        """The user, loaded by the origin's user store on first use (401 if gone since)."""
        if self._user is _UNSET:
            assert self._users is not None
            user = self._users.get(self._db, self.claims.user_id)
            if user is None or not self._users.is_active(user):
                raise unauthorized()
            self._user = user
        return self._user

    @property
    def session(self) -> StrapiSession | None:
        """The session row (detached), or None for a legacy-support token."""
        if self._session is _UNSET:
            assert self._snapshot is not None
            self._session = self._snapshot.session_row()
        session: StrapiSession | None = self._session
        return session

    def __repr__(self) -> str:
        return f"<Principal {self.origin} user={self.claims.user_id}>"


@contextmanager
def database_guard(state: AppState) -> Iterator[None]:
    """Turn a database outage into a 503 (and roll back) instead of a 500."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as exc:
        logger.error("database unavailable: %s", exc.__class__.__name__)
        with suppress(SQLAlchemyError):
            state.session.rollback()
        raise ServiceUnavailableError() from None


def unauthorized(message: str | None = None) -> UnauthorizedError:
    return UnauthorizedError(message, headers=bearer_challenge())


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header (scheme in any case)."""
    return _bearer(request.environ.get("HTTP_AUTHORIZATION"))


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    return token.strip()


def _verify(runtime: OriginRuntime, state: AppState, token: str) -> Principal:
    """Check ``token``, its session and its user; 401 on any failure, 503 if the DB is down."""
    check = runtime.check
    now = state.clock()
    try:
        claims = check.claims(token, now)
    except tokens.InvalidToken:
        raise unauthorized() from None
    db = state.session
    with database_guard(state):
        snapshot = check.snapshot(db, claims)
        if snapshot is None:
            raise unauthorized()
        if claims.session_id is not None and not snapshot.session_live(
            claims.user_id, round(now * 1000)
        ):
            raise unauthorized()
        principal = Principal(
            runtime.settings.origin,
            claims=claims,
            session=_UNSET if claims.session_id is not None else None,
            snapshot=snapshot,
            users=runtime.users,
            db=db,
        )
        if snapshot.user_active is None:
            principal.user  # noqa: B018 (the user store loads and judges the user now)
        elif not snapshot.user_active:
            raise unauthorized()
    return principal


def authenticate(origin: str = USERS_PERMISSIONS, *, optional: bool = False) -> Principal | None:
    """Authenticate the current request for ``origin``; raise 401 unless ``optional``.

    The result is cached on ``g`` per origin, so a view and its decorators verify once.
    """
    app_g = g._get_current_object()
    cache: dict[str, Principal] | None = getattr(app_g, "_strapi_principals", None)
    if cache is None:
        cache = app_g._strapi_principals = {}
    elif origin in cache:
        cached = cache[origin]
        app_g._strapi_principal = cached
        return cached
    state = get_state()
    runtime = state.admin if origin == ADMIN else state.up
    if not runtime.settings.enabled:
        raise RuntimeError(f"the {origin!r} origin is disabled on this app")
    token = bearer_token()
    if token is None:
        if optional:
            return None
        raise unauthorized()
    principal = _verify(runtime, state, token)
    cache[origin] = principal
    app_g._strapi_principal = principal
    return principal


def _check_roles(runtime: OriginRuntime, user: Any, roles: Iterable[str]) -> None:
    wanted = set(roles)
    if wanted and not wanted & runtime.users.roles_of(user):
        raise ForbiddenError()


@overload
def login_required(view: F) -> F: ...
@overload
def login_required(
    view: None = None, *, origin: str = ..., roles: Iterable[str] = ...
) -> Callable[[F], F]: ...
def login_required(
    view: F | None = None, *, origin: str = USERS_PERMISSIONS, roles: Iterable[str] = ()
) -> F | Callable[[F], F]:
    """Protect a view: a valid access token of ``origin`` whose session is live.

    ``roles``: the user needs at least one of them (403 otherwise). ``OPTIONS``
    requests pass through for CORS preflight. Works on sync and async views.
    """
    role_set = tuple(roles)

    def decorate(fn: F) -> F:
        is_async = inspect.iscoroutinefunction(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method != "OPTIONS":
                principal = cast(Principal, authenticate(origin))
                if role_set:
                    _check_roles(get_state().origin(origin), principal.user, role_set)
            if is_async:
                return current_app.ensure_sync(fn)(*args, **kwargs)
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return decorate(view) if view is not None else decorate


def admin_required(view: F) -> F:
    """Shorthand for ``@login_required(origin="admin")``."""
    return login_required(origin="admin")(view)


def _principal() -> Principal | None:
    principal: Principal | None = g.get("_strapi_principal")
    return principal


current_user: Any = LocalProxy(lambda: getattr(_principal(), "user", None))
"""The user of the authenticated request (None before authentication)."""

current_session: Any = LocalProxy(lambda: getattr(_principal(), "session", None))
"""The live session of the authenticated request (None in legacy mode)."""
