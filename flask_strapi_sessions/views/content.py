"""The content API (Strapi's Users & Permissions): ``/api/auth/*`` and ``/api/users/me``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError

from .. import cors, sessions
from ..config import USERS_PERMISSIONS
from ..errors import ApplicationError, BadRequestError, NotFoundError, ValidationError
from ..guard import Principal, authenticate, unauthorized
from ..state import AppState, OriginRuntime, get_state
from ..store import PASSWORD_CHANGE, Issued, RefreshRefused
from ..tokens import sign_legacy
from . import common

INVALID_LOGIN = "Invalid identifier or password"


def _runtime() -> tuple[AppState, OriginRuntime]:
    state = get_state()
    return state, state.up


def _cookie_mode(runtime: OriginRuntime) -> bool:
    """Refresh tokens travel in the cookie: configured, asked for, or the client has one."""
    header = request.headers.get("x-strapi-refresh-cookie", "")
    return (
        runtime.settings.httponly
        or header.strip().lower() == "httponly"
        or bool(request.cookies.get(runtime.settings.cookie.name))
    )


def _require_sessions(runtime: OriginRuntime) -> None:
    if not runtime.settings.sessions_enabled:
        raise NotFoundError()


def _principal() -> Principal:
    principal = authenticate(USERS_PERMISSIONS)
    assert principal is not None
    return principal


def _logged_in(
    state: AppState,
    runtime: OriginRuntime,
    user: Any,
    device_id: str | None,
) -> Response:
    """The answer to login, register and change-password: tokens plus the user."""
    user_json = runtime.users.to_json(user)
    if not runtime.settings.sessions_enabled:
        user_id = runtime.users.user_id(user)
        jwt = sign_legacy(
            runtime.settings.secret,
            user_id=int(user_id) if user_id.isdigit() else user_id,
            now=int(state.clock()),
            expires_in=runtime.settings.legacy_expires_in,
        )
        return common.answer({"jwt": jwt, "user": user_json})
    issued = common.open_session(runtime, user, device_id)
    return _login_answer(state, runtime, issued, user_json)


def _login_answer(
    state: AppState,
    runtime: OriginRuntime,
    issued: Issued,
    user_json: dict[str, Any],
) -> Response:
    """Tokens, the user and the effective ``deviceId`` (so logout can target this device)."""
    extra = {"user": user_json, "deviceId": issued.session.device_id}
    return _token_answer(state, runtime, issued, extra, _cookie_mode(runtime))


def _token_answer(
    state: AppState,
    runtime: OriginRuntime,
    issued: Issued,
    extra: dict[str, Any],
    cookie_mode: bool,
) -> Response:
    payload: dict[str, Any] = {"jwt": common.access_token(state, runtime, issued.session)}
    if not cookie_mode:
        payload["refreshToken"] = issued.refresh_token
    payload.update(extra)
    response = common.answer(payload)
    if cookie_mode:
        common.set_cookie(response, state, runtime, issued.session, issued.refresh_token)
    return response


def login() -> Response:
    """``POST /auth/local``: identifier (e-mail or username) and password."""
    state, runtime = _runtime()
    common.rate_limit(runtime)
    cookie_mode = _cookie_mode(runtime)
    if cookie_mode and runtime.settings.sessions_enabled:
        common.refuse_cross_site(runtime)
    body = common.read_body(state, allow_form=True)
    common.require(body, "identifier", "password")
    identifier = common.text(body, "identifier")
    password = common.password(body, min_length=1)
    device_id = common.device_id(body)
    assert identifier is not None
    user = runtime.users.find_for_login(state.session, identifier)
    if user is None:
        state.hasher.burn(password)
    if user is None or not state.hasher.verify(runtime.users.password_hash(user), password):
        sessions.login_failed(runtime.name, identifier)
        raise ValidationError(INVALID_LOGIN)
    if not runtime.users.is_active(user):
        raise ApplicationError("Your account has been blocked by an administrator")
    return _logged_in(state, runtime, user, device_id)


def register() -> Response:
    """``POST /auth/local/register``: username, email, password."""
    state, runtime = _runtime()
    common.rate_limit(runtime)
    if _cookie_mode(runtime) and runtime.settings.sessions_enabled:
        common.refuse_cross_site(runtime)  # before anything is written
    body = common.read_body(state, allow_form=True)
    common.reject_unknown(body, ("username", "email", "password", "deviceId"))
    common.require(body, "username", "email", "password")
    fields = {
        "username": common.username(body),
        "email": common.email(body),
    }
    password = common.password(body)
    device_id = common.device_id(body)
    db = state.session
    taken = ApplicationError("Email or Username are already taken")
    if runtime.users.is_taken(db, fields):  # type: ignore[arg-type]
        state.hasher.burn(password)
        raise taken
    try:
        user = runtime.users.create(db, fields, state.hasher.hash(password))
        db.commit()
    except IntegrityError:
        db.rollback()
        raise taken from None
    return _logged_in(state, runtime, user, device_id)


def refresh() -> Response:
    """``POST /auth/refresh``: rotate the refresh token (cookie first, then body)."""
    state, runtime = _runtime()
    _require_sessions(runtime)
    token = common.read_cookie(runtime)
    from_cookie = token is not None
    if from_cookie:
        common.refuse_cross_site(runtime)
        common.read_body(state, json_only=True)
    else:
        body = common.read_body(state)
        value = body.get("refreshToken")
        if not isinstance(value, str) or not value:
            raise BadRequestError("Missing refresh token")
        token = value
    assert token is not None
    try:
        issued, _user = sessions.refresh(runtime.name, token)
    except RefreshRefused:
        return common.refresh_refused(runtime, forget_cookie=from_cookie)
    cookie_mode = from_cookie or _cookie_mode(runtime)
    return _token_answer(state, runtime, issued, {}, cookie_mode)


def logout() -> Response:
    """``POST /auth/logout``: the current session, ``deviceId``'s, or ``scope: "all"``."""
    state, runtime = _runtime()
    _require_sessions(runtime)
    cookie = common.read_cookie(runtime)
    if cookie is not None:
        common.refuse_cross_site(runtime)
    principal = authenticate(USERS_PERMISSIONS, optional=True)
    if principal is not None and principal.session is not None:
        user_id, current = principal.session.user_id, principal.session.session_id
    else:
        session = runtime.sessions.session_for_token(state.session, cookie) if cookie else None
        if session is None:
            raise unauthorized()
        user_id, current = session.user_id, session.session_id
    body = common.read_body(state, json_only=cookie is not None)
    device_id = common.device_id(body)
    everywhere = common.scope(body) == "all"
    sessions.logout(runtime.name, user_id, current, device_id=device_id, everywhere=everywhere)
    response = common.answer({"ok": True})
    if cookie is not None or _cookie_mode(runtime):
        common.clear_cookie(response, runtime)
    return response


def me() -> Response:
    """``GET /users/me``: the bare user."""
    _state, runtime = _runtime()
    return common.answer(runtime.users.to_json(_principal().user))


def change_password() -> Response:
    """``POST /auth/change-password``: new tokens; every other session is revoked."""
    state, runtime = _runtime()
    principal = _principal()
    common.rate_limit(runtime)
    body = common.read_body(state)
    common.reject_unknown(body, ("currentPassword", "password", "passwordConfirmation"))
    common.require(body, "currentPassword", "password", "passwordConfirmation")
    current = common.password(body, "currentPassword", min_length=1)
    new = common.password(body)
    if body.get("passwordConfirmation") != new:
        raise ValidationError("Passwords do not match")
    if new == current:
        raise ValidationError("Your new password must be different than your current password")
    user = principal.user
    if not state.hasher.verify(runtime.users.password_hash(user), current):
        raise ValidationError("The provided current password is invalid")
    runtime.users.set_password_hash(user, state.hasher.hash(new))
    state.session.commit()
    user_json = runtime.users.to_json(user)
    if principal.session is None:  # legacy-support
        return _logged_in(state, runtime, user, None)
    keep = principal.session.session_id
    sessions.revoke_user_sessions(
        runtime.name, principal.session.user_id, PASSWORD_CHANGE, except_session=keep
    )
    issued = runtime.sessions.reissue(state.session, keep)
    return _login_answer(state, runtime, issued, user_json)


def list_sessions() -> Response:
    """``GET /auth/sessions``: the user's live sessions, current first."""
    _state, runtime = _runtime()
    _require_sessions(runtime)
    return common.own_sessions(runtime, _principal())


def delete_session(session_id: str) -> Response:
    """``DELETE /auth/sessions/<id>``: one of the user's own sessions."""
    _state, runtime = _runtime()
    _require_sessions(runtime)
    return common.delete_own_session(runtime, _principal(), session_id)


def blueprint(runtime: OriginRuntime) -> Blueprint:
    """The content-API blueprint, mounted at ``UP_URL_PREFIX``."""
    bp = Blueprint("strapi_content_api", __name__, url_prefix=runtime.settings.url_prefix)
    routes: list[tuple[str, Callable[..., Response], list[str]]] = [
        ("/auth/local", login, ["POST"]),
        ("/auth/local/register", register, ["POST"]),
        ("/auth/refresh", refresh, ["POST"]),
        ("/auth/logout", logout, ["POST"]),
        ("/auth/change-password", change_password, ["POST"]),
        ("/users/me", me, ["GET"]),
        ("/auth/sessions", list_sessions, ["GET"]),
    ]
    for rule, view, methods in routes:
        bp.add_url_rule(rule, view.__name__, common.guarded(view), methods=methods)
    bp.add_url_rule(
        "/auth/sessions/<session_id>",
        "delete_session",
        common.guarded(delete_session),
        methods=["DELETE"],
    )
    bp.after_request(common.add_ratelimit_headers)
    bp.after_request(cors.after_request(runtime.settings))
    return bp
