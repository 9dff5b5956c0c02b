"""The refresh cookie: attributes computed once from settings, used to set and to clear.

Setting and clearing use the very same attributes, so a browser always replaces or
removes the cookie it holds. ``Secure`` is either configured or, when left on auto,
follows the request's scheme (behind a proxy, apply Werkzeug's ``ProxyFix``) — never an
error over plain HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.sansio.response import Response

from .config import CookieSettings
from .errors import BadRequestError


def attributes(cookie: CookieSettings, *, request_is_secure: bool) -> dict[str, Any]:
    """Keyword arguments for ``set_cookie``/``delete_cookie``, identical for both."""
    secure = request_is_secure if cookie.secure is None else cookie.secure
    return {
        "path": cookie.path,
        "domain": cookie.domain,
        "secure": secure,
        "httponly": True,
        "samesite": cookie.samesite.capitalize(),
    }


def set_refresh_cookie(
    response: Response,
    cookie: CookieSettings,
    token: str,
    *,
    request_is_secure: bool,
    max_age: int | None,
    now: float | None = None,
) -> None:
    """Set the refresh cookie; ``max_age=None`` makes it a browser-session cookie.

    ``now`` (epoch seconds, the extension's clock) dates ``Expires``; without it
    Werkzeug uses the system time.
    """
    expires = None if max_age is None or now is None else int(now) + max_age
    response.set_cookie(
        cookie.name,
        token,
        max_age=max_age,
        expires=expires,
        **attributes(cookie, request_is_secure=request_is_secure),
    )


def clear_refresh_cookie(
    response: Response, cookie: CookieSettings, *, request_is_secure: bool
) -> None:
    """Expire the refresh cookie with the same attributes it was set with."""
    response.delete_cookie(cookie.name, **attributes(cookie, request_is_secure=request_is_secure))


def read_refresh_cookie(cookies: Mapping[str, str], name: str) -> str | None:
    """The refresh cookie's value, None when absent or empty.

    Two cookies of the same name (say one planted for a parent domain) are refused:
    the browser's order would decide whose session rotates.
    """
    if isinstance(cookies, MultiDict):
        values = cookies.getlist(name)
        if len(values) > 1:
            raise BadRequestError("Multiple refresh cookies were sent")
        value = values[0] if values else None
    else:
        value = cookies.get(name)
    return value or None
