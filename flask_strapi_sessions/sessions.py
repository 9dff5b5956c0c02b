"""The programmatic session API: open, refresh, list and revoke sessions, with signals.

Views and the CLI go through these functions, and so can the app: they need an app
context and use the app's ``db.session``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app

from . import signals
from .config import USERS_PERMISSIONS
from .device import device_name
from .models import StrapiSession
from .state import OriginRuntime, get_state
from .store import LOGOUT, REUSE, USER_BLOCKED, Issued, RefreshRefused

logger = logging.getLogger("flask_strapi_sessions")

#: like Strapi, logins purge old rows now and then — here one bounded batch at a time
PURGE_EVERY_N_LOGINS = 50
PURGE_BATCH = 500


def _runtime(origin: str) -> OriginRuntime:
    runtime = get_state().origin(origin)
    if not runtime.settings.sessions_enabled:
        raise RuntimeError(f"{origin!r} is in legacy-support mode: it has no sessions")
    return runtime


def _sender() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def open_session(
    origin: str,
    user: Any,
    *,
    device_id: str | None = None,
    remember: bool = True,
    user_agent: str | None = None,
    ip: str | None = None,
) -> Issued:
    """Log ``user`` in on one device; returns the session and its first refresh token."""
    state = get_state()
    runtime = _runtime(origin)
    user_id = runtime.users.user_id(user)
    issued = runtime.sessions.create(
        state.session,
        user_id=user_id,
        device_id=device_id or str(uuid.uuid4()),
        remember=remember,
        device_name=device_name(user_agent),
        user_agent=user_agent,
        ip=ip,
    )
    if next(state.logins) % PURGE_EVERY_N_LOGINS == 0:
        runtime.sessions.purge(state.session, batch_size=PURGE_BATCH, max_batches=1)
    signals.user_logged_in.send(
        _sender(),
        origin=origin,
        user_id=user_id,
        session_id=issued.session.session_id,
        device_id=issued.session.device_id,
    )
    return issued


def login_failed(origin: str, identifier: str) -> None:
    """Record a rejected login (signal ``login_failed``)."""
    signals.login_failed.send(_sender(), origin=origin, identifier=identifier)


def refresh(origin: str, refresh_token: str) -> tuple[Issued, Any]:
    """Rotate ``refresh_token``; return the session's next token and its (active) user.

    Raises :class:`~flask_strapi_sessions.store.RefreshRefused`. A reused ancestor
    revokes the session and sends ``refresh_token_reused``; a blocked or deleted user
    has their session revoked too.
    """
    state = get_state()
    runtime = _runtime(origin)
    db = state.session
    try:
        issued = runtime.sessions.rotate(db, refresh_token)
    except RefreshRefused as refused:
        reused = refused.reused_session
        if reused is not None:
            logger.warning(
                "refresh token reuse: session %s of %s user %s revoked",
                reused.session_id,
                origin,
                reused.user_id,
            )
            signals.refresh_token_reused.send(
                _sender(), origin=origin, user_id=reused.user_id, session_id=reused.session_id
            )
            _revoked(origin, reused.user_id, [reused.session_id], REUSE)
        raise
    user = runtime.users.get(db, issued.session.user_id)
    if user is None or not runtime.users.is_active(user):
        revoke(origin, [issued.session.session_id], USER_BLOCKED, user_id=issued.session.user_id)
        raise RefreshRefused()
    signals.session_refreshed.send(
        _sender(),
        origin=origin,
        user_id=issued.session.user_id,
        session_id=issued.session.session_id,
        grace=issued.grace,
    )
    return issued, user


def _revoked(origin: str, user_id: str, session_ids: list[str], reason: str) -> None:
    if session_ids:
        signals.session_revoked.send(
            _sender(), origin=origin, user_id=user_id, session_ids=session_ids, reason=reason
        )


def revoke(origin: str, session_ids: list[str], reason: str, *, user_id: str = "") -> list[str]:
    """Revoke these sessions; returns the ids that were live."""
    runtime = _runtime(origin)
    done = runtime.sessions.revoke(get_state().session, session_ids, reason)
    _revoked(origin, user_id, done, reason)
    return done


def revoke_user_sessions(
    origin: str,
    user_id: str,
    reason: str,
    *,
    device_id: str | None = None,
    except_session: str | None = None,
) -> list[str]:
    """Revoke all of a user's sessions in ``origin`` (one device's, or all but one)."""
    runtime = _runtime(origin)
    done = runtime.sessions.revoke_user(
        get_state().session, user_id, reason, device_id=device_id, keep=except_session
    )
    _revoked(origin, user_id, done, reason)
    return done


def logout(
    origin: str,
    user_id: str,
    current: str | None,
    *,
    device_id: str | None = None,
    everywhere: bool = False,
) -> list[str]:
    """End the current session, or one device's, or every session of the user."""
    if everywhere or device_id is not None:
        done = revoke_user_sessions(origin, user_id, LOGOUT, device_id=device_id)
    else:
        done = revoke(origin, [current] if current else [], LOGOUT, user_id=user_id)
    signals.user_logged_out.send(_sender(), origin=origin, user_id=user_id, session_ids=done)
    return done


def list_sessions(origin: str, user_id: str) -> list[StrapiSession]:
    """The user's live sessions in ``origin``, most recently used first."""
    return _runtime(origin).sessions.sessions_of(get_state().session, user_id)


def purge_expired(
    origin: str | None = None, *, batch_size: int = 1000, max_batches: int | None = None
) -> int:
    """Delete expired and long-revoked rows of one or both origins; returns the count."""
    state = get_state()
    origins = [origin] if origin else [state.admin.name, state.up.name]
    return sum(
        state.origin(name).sessions.purge(
            state.session, batch_size=batch_size, max_batches=max_batches
        )
        for name in origins
        if state.origin(name).settings.enabled
        and (name != USERS_PERMISSIONS or state.up.settings.sessions_enabled)
    )
