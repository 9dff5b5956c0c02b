"""Authenticating requests: the decorators, ``current_user`` and ``current_session``.

``@login_required`` (content API) and ``@login_required(origin="admin")`` verify the
Bearer access token, check that its session is still live and its user still active,
and make both available as ``current_user`` / ``current_session``. ``authenticate`` is
the imperative twin for code that is not a view.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar, cast, overload

from flask import current_app, g, request
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.local import LocalProxy

from . import tokens
from .config import USERS_PERMISSIONS
from .errors import ForbiddenError, ServiceUnavailableError, UnauthorizedError, bearer_challenge
from .models import StrapiSession
from .state import AppState, OriginRuntime, get_state

logger = logging.getLogger("flask_strapi_sessions")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who made this request: origin, user, their live session (None in legacy mode)."""

    origin: str
    user: Any
    session: StrapiSession | None
    claims: tokens.AccessClaims


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
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    return token.strip()


def _verify(runtime: OriginRuntime, state: AppState, token: str) -> Principal:
    settings = runtime.settings
    kind: tokens.TokenKind = "access" if settings.sessions_enabled else "legacy"
    try:
        claims = tokens.verify_jwt(
            token, settings.secret, kind=kind, audience=settings.origin, now=state.clock()
        )
    except tokens.InvalidToken:
        raise unauthorized() from None
    db = state.session
    with database_guard(state):
        session = None
        if claims.session_id is not None:
            session = runtime.sessions.live_session(db, claims.session_id, claims.user_id)
            if session is None:
                raise unauthorized()
        user = runtime.users.get(db, claims.user_id)
        if user is None or not runtime.users.is_active(user):
            raise unauthorized()
    return Principal(settings.origin, user, session, claims)


def authenticate(origin: str = USERS_PERMISSIONS, *, optional: bool = False) -> Principal | None:
    """Authenticate the current request for ``origin``; raise 401 unless ``optional``.

    The result is cached on ``g`` per origin, so a view and its decorators verify once.
    """
    cache: dict[str, Principal] = g.setdefault("_strapi_principals", {})
    if origin in cache:
        cached: Principal = cache[origin]
        g._strapi_principal = cached
        return cached
    state = get_state()
    runtime = state.origin(origin)
    if not runtime.settings.enabled:
        raise RuntimeError(f"the {origin!r} origin is disabled on this app")
    token = bearer_token()
    if token is None:
        if optional:
            return None
        raise unauthorized()
    principal = _verify(runtime, state, token)
    cache[origin] = principal
    g._strapi_principal = principal
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
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.method != "OPTIONS":
                principal = cast(Principal, authenticate(origin))
                if role_set:
                    _check_roles(get_state().origin(origin), principal.user, role_set)
            return current_app.ensure_sync(fn)(*args, **kwargs)

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
