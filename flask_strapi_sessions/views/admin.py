"""The admin origin (Strapi's admin authentication): ``/admin/*``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response
from sqlalchemy.exc import IntegrityError

from .. import cors, sessions
from ..config import ADMIN
from ..errors import ApplicationError, ValidationError, field_errors
from ..guard import Principal, authenticate, unauthorized
from ..state import AppState, OriginRuntime, get_state
from ..store import PASSWORD_CHANGE, Issued, RefreshRefused
from ..users import ADMIN_PASSWORD_MIN, admin_password_problem
from . import common

#: profile fields an admin may change, with their column's length
PROFILE_FIELDS = {"firstname": 255, "lastname": 255, "username": 255, "preferedLanguage": 32}
FIRST_ADMIN_DOCUMENT_ID = "first0admin0000000000000"  # 24 characters, as generated ones
SUPER_ADMIN_ROLE = {"id": 1, "name": "Super Admin", "code": "strapi-super-admin"}


def _runtime() -> tuple[AppState, OriginRuntime]:
    state = get_state()
    return state, state.admin


def _principal() -> Principal:
    principal = authenticate(ADMIN)
    assert principal is not None and principal.session is not None
    return principal


def _admin_password(body: dict[str, Any], name: str = "password") -> str:
    """Strapi's admin rule: 8+ characters with a lower-case, an upper-case letter and a digit."""
    value = common.password(body, name, min_length=ADMIN_PASSWORD_MIN)
    problem = admin_password_problem(value)
    if problem is not None:
        raise field_errors([(name, f"{name} {problem}")])
    return value


def _remember(body: dict[str, Any]) -> bool:
    value = body.get("rememberMe")
    if value is None:  # absent or null: a browser-session login
        return False
    if not isinstance(value, bool):
        raise field_errors([("rememberMe", "rememberMe must be a `boolean` type")])
    return value


def _logged_in(
    state: AppState,
    runtime: OriginRuntime,
    issued: Issued,
    user_json: dict[str, Any],
) -> Response:
    token = common.access_token(state, runtime, issued.session)
    response = common.answer(
        {
            "data": {
                "token": token,
                "accessToken": token,
                "user": user_json,
                "deviceId": issued.session.device_id,
            }
        }
    )
    common.set_cookie(response, state, runtime, issued.session, issued.refresh_token)
    return response


def init() -> Response:
    """``GET /init``: whether a first admin still has to be registered."""
    state, runtime = _runtime()
    has_admin = runtime.users.exists_any(state.session)
    return common.answer(
        {"data": {"uuid": False, "hasAdmin": has_admin, "menuLogo": None, "authLogo": None}}
    )


def register_admin() -> Response:
    """``POST /register-admin``: the first admin only."""
    state, runtime = _runtime()
    body = common.read_body(state)
    common.rate_limit(runtime, str(body.get("email", "")).lower()[:255])
    common.refuse_cross_site(runtime)
    common.require(body, "email", "firstname", "password")
    fields = {
        "email": common.email(body),
        "firstname": common.text(body, "firstname"),
        "lastname": common.text(body, "lastname", required=False),
    }
    if hasattr(runtime.users.model, "document_id"):
        # every first admin gets the same documentId, so of two racing registrations the
        # unique constraint lets exactly one in, on every database
        fields["document_id"] = FIRST_ADMIN_DOCUMENT_ID
    password = _admin_password(body)
    db = state.session
    if runtime.users.exists_any(db):
        raise ApplicationError("You cannot register a new super admin")
    try:
        user = runtime.users.create(db, fields, state.hasher.hash(password))
        db.commit()
    except IntegrityError:
        db.rollback()
        raise ApplicationError("You cannot register a new super admin") from None
    user_json = runtime.users.to_json(user)
    user_json["roles"] = [SUPER_ADMIN_ROLE]
    issued = common.open_session(runtime, user, None, remember=False)
    return _logged_in(state, runtime, issued, user_json)


def login() -> Response:
    """``POST /login``: e-mail, password, ``rememberMe``, ``deviceId``."""
    state, runtime = _runtime()
    body = common.read_body(state)
    common.rate_limit(runtime, str(body.get("email", "")).lower()[:255])
    common.refuse_cross_site(runtime)
    if body.get("password") in (None, "") or body.get("email") in (None, ""):
        raise ApplicationError("Missing credentials")
    email = common.text(body, "email")
    password = common.password(body, min_length=1)
    device_id = common.device_id(body)
    remember = _remember(body)
    assert email is not None
    user = runtime.users.find_for_login(state.session, email)
    if user is None:
        state.hasher.burn(password)
    if user is None or not state.hasher.verify(runtime.users.password_hash(user), password):
        sessions.login_failed(runtime.name, email)
        raise ApplicationError("Invalid credentials")
    if not runtime.users.is_active(user):
        raise ApplicationError("Your account has been blocked by an administrator")
    issued = common.open_session(runtime, user, device_id, remember=remember)
    return _logged_in(state, runtime, issued, runtime.users.to_json(user))


def access_token() -> Response:
    """``POST /access-token``: rotate the refresh cookie, answer a new access token."""
    state, runtime = _runtime()
    token = common.read_cookie(runtime)
    if token is None:
        raise unauthorized("Missing refresh token")
    common.refuse_cross_site(runtime)
    common.read_body(state, json_only=True)
    try:
        issued, _user = sessions.refresh(runtime.name, token)
    except RefreshRefused:
        return common.refresh_refused(runtime, forget_cookie=True)
    response = common.answer(
        {"data": {"token": common.access_token(state, runtime, issued.session)}}
    )
    common.set_cookie(response, state, runtime, issued.session, issued.refresh_token)
    return response


def logout() -> Response:
    """``POST /logout``: the current session, ``deviceId``'s, or ``scope: "all"``."""
    state, runtime = _runtime()
    principal = _principal()
    body = common.read_body(state)
    device_id = common.device_id(body)
    everywhere = common.scope(body) == "all"
    assert principal.session is not None
    sessions.logout(
        runtime.name,
        principal.session.user_id,
        principal.session.session_id,
        device_id=device_id,
        everywhere=everywhere,
    )
    response = common.answer({"data": {}})
    common.clear_cookie(response, runtime)
    return response


def me() -> Response:
    """``GET /users/me``."""
    _state, runtime = _runtime()
    return common.answer({"data": runtime.users.to_json(_principal().user)})


def update_me() -> Response:
    """``PUT /users/me``: profile fields; ``currentPassword`` + ``password`` to change it."""
    state, runtime = _runtime()
    principal = _principal()
    body = common.read_body(state)
    common.reject_unknown(body, (*PROFILE_FIELDS, "email", "currentPassword", "password"))
    user = principal.user
    changes: dict[str, Any] = {}
    for field, max_length in PROFILE_FIELDS.items():
        if field in body:
            # firstname is required at registration, so it cannot be emptied later
            changes[field] = common.text(
                body, field, required=field == "firstname", max_length=max_length
            )
    if "email" in body:
        changes["email"] = common.email(body)
    new_password = None
    if "password" in body:
        new_password = _admin_password(body)
        current = common.text(body, "currentPassword", max_length=256)
        assert current is not None
        if not state.hasher.verify(runtime.users.password_hash(user), current):
            raise ValidationError("Current password is invalid")
    for field, value in changes.items():
        setattr(user, "prefered_language" if field == "preferedLanguage" else field, value)
    if changes:
        runtime.users.touch(user)
    if new_password is not None:
        runtime.users.set_password_hash(user, state.hasher.hash(new_password))
    try:
        state.session.commit()
    except IntegrityError:
        state.session.rollback()
        raise ApplicationError("Email already taken") from None
    if new_password is not None:
        assert principal.session is not None
        sessions.revoke_user_sessions(
            runtime.name,
            principal.session.user_id,
            PASSWORD_CHANGE,
            except_session=principal.session.session_id,
        )
    return common.answer({"data": runtime.users.to_json(user)})


def list_sessions() -> Response:
    """``GET /users/me/sessions``."""
    return common.own_sessions(get_state().admin, _principal())


def delete_session(session_id: str) -> Response:
    """``DELETE /users/me/sessions/<id>``: one of the admin's own sessions."""
    return common.delete_own_session(get_state().admin, _principal(), session_id)


def blueprint(runtime: OriginRuntime) -> Blueprint:
    """The admin blueprint, mounted at ``ADMIN_URL_PREFIX``."""
    bp = Blueprint("strapi_admin", __name__, url_prefix=runtime.settings.url_prefix)
    routes: list[tuple[str, Callable[..., Response], list[str]]] = [
        ("/init", init, ["GET"]),
        ("/register-admin", register_admin, ["POST"]),
        ("/login", login, ["POST"]),
        ("/access-token", access_token, ["POST"]),
        ("/logout", logout, ["POST"]),
        ("/users/me", me, ["GET"]),
        ("/users/me", update_me, ["PUT"]),
        ("/users/me/sessions", list_sessions, ["GET"]),
        ("/users/me/sessions/<session_id>", delete_session, ["DELETE"]),
    ]
    for rule, view, methods in routes:
        bp.add_url_rule(rule, view.__name__, common.guarded(view), methods=methods)
    bp.after_request(common.add_ratelimit_headers)
    bp.after_request(cors.after_request(runtime.settings))
    return bp
