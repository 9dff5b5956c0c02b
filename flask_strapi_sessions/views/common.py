"""What both origins' views share: body parsing, same-site checks, limits, token answers."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, g, jsonify, request

from .. import cookies, sessions, tokens
from ..errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationError,
    field_errors,
)
from ..guard import Principal, database_guard, unauthorized
from ..models import StrapiSession
from ..state import AppState, OriginRuntime, get_state
from ..store import REVOKED_BY_USER, Issued
from ..users import EMAIL, MAX_PASSWORD_CHARS, iso_time

DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


# -- request bodies ---------------------------------------------------------------


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def read_body(
    state: AppState, *, allow_form: bool = False, json_only: bool = False
) -> dict[str, Any]:
    """The request's JSON object (or form, where Strapi takes one); 4xx on anything else.

    ``json_only`` is for cookie-authenticated requests: a declared non-JSON type is refused
    even with an empty body, because forms and ``text/plain`` are what another site's page
    can send without a CORS preflight.
    """
    if json_only and request.mimetype and not _is_json(request.mimetype):
        raise UnsupportedMediaTypeError()
    limit = state.settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLargeError()
    try:
        raw = (
            request.stream.read(limit + 1) if request.content_length is None else request.get_data()
        )
    except (OSError, ValueError):  # a malformed chunked body, a truncated upload
        raise BadRequestError("Malformed request body") from None
    if len(raw) > limit:
        raise PayloadTooLargeError()
    if not raw.strip():
        return {}
    mimetype = request.mimetype
    if allow_form and mimetype == "application/x-www-form-urlencoded":
        try:  # parsed from the bytes read above, so chunked bodies work too
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise ValidationError("Invalid form body") from None
    if mimetype and not _is_json(mimetype):
        raise UnsupportedMediaTypeError()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ValidationError("Invalid JSON in request body") from None
    try:  # a "\ud800" escape parses to a lone surrogate that no database or hash can encode
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Invalid Unicode in request body") from None
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object")
    return body


def text(
    body: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    max_length: int = 255,
    min_length: int = 0,
) -> str | None:
    """A string field, checked; None when optional and absent."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise field_errors([(name, f"{name} is a required field")])
        return None
    if not isinstance(value, str):
        raise field_errors([(name, f"{name} must be a `string` type")])
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; nobody needs one
        raise field_errors([(name, f"{name} must not contain NUL characters")])
    if len(value) > max_length:
        raise field_errors([(name, f"{name} must be at most {max_length} characters")])
    if len(value) < min_length:
        raise field_errors([(name, f"{name} must be at least {min_length} characters")])
    return value


def require(body: dict[str, Any], *names: str) -> None:
    """One 400 naming every missing field, as Strapi's "2 errors occurred"."""
    missing = [(n, f"{n} is a required field") for n in names if body.get(n) in (None, "")]
    if missing:
        raise field_errors(missing)


def username(body: dict[str, Any], name: str = "username") -> str:
    """A username: 3+ characters, printable, no leading or trailing spaces."""
    value = text(body, name, min_length=3)
    assert value is not None
    if value != value.strip() or any(unicodedata.category(c)[0] == "C" for c in value):
        raise field_errors(
            [(name, f"{name} must be printable, without leading or trailing spaces")]
        )
    return value


def password(body: dict[str, Any], name: str = "password", min_length: int = 6) -> str:
    value = text(body, name, max_length=MAX_PASSWORD_CHARS, min_length=min_length)
    assert value is not None
    return value


def email(body: dict[str, Any], name: str = "email", *, required: bool = True) -> str | None:
    value = text(body, name, required=required)
    if value is not None and not EMAIL.fullmatch(value):
        raise field_errors([(name, f"{name} must be a valid email")])
    return value.lower() if value else None


def reject_unknown(body: dict[str, Any], allowed: Iterable[str]) -> None:
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise ValidationError(f"Invalid parameters: {', '.join(extra)}")


def device_id(body: dict[str, Any]) -> str | None:
    """The client's deviceId: bounded length and charset; None when absent."""
    value = body.get("deviceId")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DEVICE_ID.fullmatch(value):
        raise field_errors(
            [("deviceId", "deviceId must be 1-128 letters, digits, '-', '_', '.' or ':'")]
        )
    return value


def scope(body: dict[str, Any]) -> str | None:
    value = body.get("scope")
    if value is None:
        return None
    if value != "all":
        raise field_errors([("scope", "scope must be one of the following values: all")])
    return "all"


# -- request checks -----------------------------------------------------------------


def client_ip() -> str:
    """The peer address (apply ``ProxyFix`` behind a reverse proxy)."""
    return request.remote_addr or "unknown"


def refuse_cross_site(runtime: OriginRuntime) -> None:
    """403 for a cookie-authenticated request sent by another site's page."""
    origin = request.headers.get("Origin")
    trusted = runtime.settings.trusted_origins
    if origin is not None:
        own = request.host_url.rstrip("/")
        if origin == own or origin in trusted:
            return
        raise ForbiddenError("Cross-site request refused")
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise ForbiddenError("Cross-site request refused")


def rate_limit(runtime: OriginRuntime, *keys: str) -> None:
    """Count this request against the origin's credential-route limit (429 past it).

    The ``X-RateLimit-*`` headers go on whatever the route answers, success or error,
    through :func:`add_ratelimit_headers`.
    """
    rule = runtime.settings.ratelimit
    if rule.enabled:
        headers = get_state().limiter.hit(rule, runtime.name, request.path, client_ip(), *keys)
        g._strapi_ratelimit_headers = headers


def add_ratelimit_headers(response: Response) -> Response:
    """Blueprint ``after_request``: the counted request's ``X-RateLimit-*`` headers."""
    headers: dict[str, str] | None = g.get("_strapi_ratelimit_headers")
    if headers:
        for key, value in headers.items():
            response.headers.setdefault(key, value)
    return response


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Run a view under the database guard (outage → 503)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        with database_guard(get_state()):
            return view(*args, **kwargs)

    return wrapper


# -- answers ------------------------------------------------------------------------


def answer(payload: Any) -> Response:
    """A JSON answer that caches nowhere (it may carry tokens)."""
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def open_session(
    runtime: OriginRuntime, user: Any, device_id: str | None, *, remember: bool = True
) -> Issued:
    """Log ``user`` in on the requesting device (its User-Agent and IP are recorded)."""
    return sessions.open_session(
        runtime.name,
        user,
        device_id=device_id,
        remember=remember,
        user_agent=request.user_agent.string,
        ip=client_ip(),
    )


def access_token(state: AppState, runtime: OriginRuntime, session: StrapiSession) -> str:
    """An access token for ``session``; it never outlives the session's absolute expiry."""
    now = int(state.clock())
    expires = min(now + runtime.settings.access_ttl, session.absolute_expires_at // 1000)
    return tokens.sign_access(
        runtime.settings.secret,
        user_id=session.user_id,
        session_id=session.session_id,
        audience=runtime.name,
        now=now,
        expires_at=expires,
    )


def cookie_max_age(state: AppState, session: StrapiSession) -> int | None:
    """Remember-me cookies last until the session's current expiry; others die with the browser."""
    if session.type != "refresh":
        return None
    now_ms = int(state.clock() * 1000)
    return max(0, (min(session.idle_expires_at, session.absolute_expires_at) - now_ms) // 1000)


def set_cookie(
    response: Response, state: AppState, runtime: OriginRuntime, session: StrapiSession, token: str
) -> None:
    cookies.set_refresh_cookie(
        response,
        runtime.settings.cookie,
        token,
        request_is_secure=request.is_secure,
        max_age=cookie_max_age(state, session),
        now=state.clock(),
    )


def clear_cookie(response: Response, runtime: OriginRuntime) -> None:
    cookies.clear_refresh_cookie(
        response, runtime.settings.cookie, request_is_secure=request.is_secure
    )


def refresh_refused(runtime: OriginRuntime, *, forget_cookie: bool) -> Response:
    """401 "Invalid refresh token"; a refused cookie is cleared so the browser drops it."""
    response: Response = unauthorized("Invalid refresh token").get_response()
    if forget_cookie:
        clear_cookie(response, runtime)
    return response


def read_cookie(runtime: OriginRuntime) -> str | None:
    return cookies.read_refresh_cookie(request.cookies, runtime.settings.cookie.name)


def session_list(rows: list[StrapiSession], current_id: str | None) -> list[dict[str, Any]]:
    """Strapi's session listing: current first, then by last use."""
    items = [
        {
            "id": row.session_id,
            "deviceId": row.device_id,
            "deviceName": row.device_name,
            "current": row.session_id == current_id,
            "loginAt": iso_time(row.created_at),
            "lastActiveAt": iso_time(row.last_used_at),
        }
        for row in rows
    ]
    # rows come most recently used first; a stable sort puts the current one in front
    return sorted(items, key=lambda item: not item["current"])


def own_sessions(runtime: OriginRuntime, principal: Principal) -> Response:
    """The answer listing the principal's own live sessions."""
    assert principal.session is not None
    rows = sessions.list_sessions(runtime.name, principal.session.user_id)
    return answer({"data": session_list(rows, principal.session.session_id)})


def delete_own_session(runtime: OriginRuntime, principal: Principal, session_id: str) -> Response:
    """Revoke one of the principal's own sessions; anyone else's is "not found"."""
    assert principal.session is not None
    user_id = principal.session.user_id
    owned = {row.session_id for row in sessions.list_sessions(runtime.name, user_id)}
    if session_id not in owned:
        raise NotFoundError("Session not found")
    sessions.revoke(runtime.name, [session_id], REVOKED_BY_USER, user_id=user_id)
    return answer({"data": {}})
