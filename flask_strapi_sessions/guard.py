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
from typing import Any, NoReturn, TypeVar, cast, overload

from flask import current_app, g, request
from flask.globals import app_ctx
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.local import LocalProxy

from . import tokens
from .config import ADMIN, USERS_PERMISSIONS
from .errors import ForbiddenError, ServiceUnavailableError, UnauthorizedError, bearer_challenge
from .models import StrapiSession
from .session_check import Snapshot
from .state import EXTENSION_KEY, AppState, OriginRuntime, get_state

logger = logging.getLogger("flask_strapi_sessions")
F = TypeVar("F", bound=Callable[..., Any])


_UNSET: Any = object()


class Principal:
    """Who made this request: origin, user, their live session (None in legacy mode).

    The guard checks the session and the user in one query; the user and session
    *objects* are loaded (through the origin's user store, and by primary key) only
    when something reads :attr:`user` or :attr:`session`.
    """

    __slots__ = ("_runtime", "_session", "_snapshot", "_state", "_user", "claims", "origin")

    def __init__(
        self,
        origin: str,
        user: Any = _UNSET,
        session: StrapiSession | None = _UNSET,
        claims: tokens.AccessClaims = _UNSET,
        snapshot: Snapshot | None = None,
        runtime: OriginRuntime | None = None,
        state: AppState | None = None,
    ) -> None:
        self.origin = origin
        self.claims = claims
        self._user = user
        self._session = session
        self._snapshot = snapshot
        self._runtime = runtime
        self._state = state

    @property
    def user(self) -> Any:
        """The user, loaded by the origin's user store on first use (401 if gone since)."""
        if self._user is _UNSET:
            assert self._runtime is not None and self._state is not None
            users = self._runtime.users
            user = users.get(self._state.session, self.claims.user_id)
            if user is None or not users.is_active(user):
                raise unauthorized()
            self._user = user
        return self._user

    @property
    def session(self) -> StrapiSession | None:
        """The session row, loaded on first use; None for a legacy-support token."""
        if self._session is _UNSET:
            assert self._snapshot is not None and self._state is not None
            row = self._state.session.get(StrapiSession, self._snapshot.session_key)
            if row is None:  # purged since the check
                raise unauthorized()
            self._session = row
        session: StrapiSession | None = self._session
        return session

    def __repr__(self) -> str:
        return f"<Principal {self.origin} user={self.claims.user_id}>"


def _database_down(state: AppState, exc: Exception) -> NoReturn:
    logger.error("database unavailable: %s", exc.__class__.__name__)
    with suppress(SQLAlchemyError):
        state.session.rollback()
    raise ServiceUnavailableError() from None


@contextmanager
def database_guard(state: AppState) -> Iterator[None]:
    """Turn a database outage into a 503 (and roll back) instead of a 500."""
    try:
        yield
    except (DBAPIError, PoolTimeout) as exc:
        _database_down(state, exc)


def unauthorized(message: str | None = None) -> UnauthorizedError:
    return UnauthorizedError(message, headers=bearer_challenge())


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header (scheme in any case)."""
    return _bearer(request.environ.get("HTTP_AUTHORIZATION"))


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not token or scheme.lower() != "bearer":
        raise unauthorized()
    return token


def _verify(runtime: OriginRuntime, state: AppState, token: str) -> Principal:
    """Check ``token``, its session and its user: 401 on any failure, 503 if the DB is down.

    Every check runs on every request: signature, expiry, session row (active, inside
    both lifespans, same user), user (exists, not blocked or deactivated). Only in the
    opt-in check-interval mode may the database part come from this worker's recent
    answer (see :mod:`flask_strapi_sessions.session_check`).
    """
    check = runtime.check
    now = state.clock()
    try:
        claims = check.claims(token, now)
    except tokens.InvalidToken:
        raise unauthorized() from None
    try:
        snapshot = check.snapshot(state, claims, now)
        if snapshot is None:
            raise unauthorized()
        if claims.session_id is None:
            session = None
        elif snapshot.session_live(claims.user_id, round(now * 1000)):
            session = _UNSET
        else:
            raise unauthorized()
        principal = Principal(
            runtime.settings.origin, _UNSET, session, claims, snapshot, runtime, state
        )
        if snapshot.user_active is None:
            principal.user  # noqa: B018 (the user store loads and judges the user now)
        elif not snapshot.user_active:
            raise unauthorized()
    except (DBAPIError, PoolTimeout) as exc:
        _database_down(state, exc)
    return principal


def authenticate(origin: str = USERS_PERMISSIONS, *, optional: bool = False) -> Principal | None:
    """Authenticate the current request for ``origin``; raise 401 unless ``optional``.

    The result is cached on ``g`` per origin, so a view and its decorators verify once.
    """
    return _authenticate(origin, optional, request.environ.get("HTTP_AUTHORIZATION"))


def _authenticate(origin: str, optional: bool, header: str | None) -> Principal | None:
    # one lookup gives both ``g`` and the app
    context = app_ctx._get_current_object()  # type: ignore[attr-defined]
    app_g = context.g
    # through __dict__: a missing attribute on ``g`` costs a raised AttributeError
    principals: dict[str, Principal] | None = app_g.__dict__.get("_strapi_principals")
    if principals is None:
        principals = app_g._strapi_principals = {}
    else:
        cached = principals.get(origin)
        if cached is not None:
            app_g._strapi_principal = cached
            return cached
    state: AppState | None = context.app.extensions.get(EXTENSION_KEY)
    if state is None:
        state = get_state()  # raises the error that says what to do
    runtime = state.admin if origin == ADMIN else state.up
    if not runtime.settings.enabled:
        raise RuntimeError(f"the {origin!r} origin is disabled on this app")
    token = _bearer(header)
    if token is None:
        if optional:
            return None
        raise unauthorized()
    principal = _verify(runtime, state, token)
    principals[origin] = principal
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
            current = request._get_current_object()  # type: ignore[attr-defined]
            if current.method != "OPTIONS":
                header = current.environ.get("HTTP_AUTHORIZATION")
                principal = _authenticate(origin, False, header)
                if role_set:
                    assert principal is not None
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
