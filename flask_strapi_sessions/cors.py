"""CORS with credentials for an origin's trusted front ends, and for nobody else.

A front end served from its own domain and listed in ``ADMIN_TRUSTED_ORIGINS`` /
``UP_TRUSTED_ORIGINS`` calls the auth routes with ``credentials: "include"``; the browser
lets it read the answers (and send the refresh cookie) only when the response names
that exact origin and allows credentials, and it asks first with a preflight
``OPTIONS`` for JSON bodies and ``Authorization`` headers. Any other origin gets no
CORS headers at all, so its page can neither read the answers nor pass the preflight.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request

from .config import OriginSettings

#: request headers a trusted front end may send (JSON bodies, Bearer, Strapi's cookie switch)
ALLOWED_HEADERS = "Authorization, Content-Type, x-strapi-refresh-cookie"
#: response headers its scripts may read beyond the CORS-safelisted ones
EXPOSED_HEADERS = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
#: seconds a browser may cache a preflight answer
PREFLIGHT_MAX_AGE = "600"


def after_request(settings: OriginSettings) -> Callable[[Response], Response]:
    """An ``after_request`` hook adding CORS headers for ``settings.trusted_origins``."""
    trusted = frozenset(settings.trusted_origins)

    def add_cors_headers(response: Response) -> Response:
        if not trusted:
            return response
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin is None or origin not in trusted:
            return response
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            # Flask answers OPTIONS itself and lists the rule's methods in ``Allow``
            headers["Access-Control-Allow-Methods"] = ", ".join(sorted(response.allow))
            headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response

    return add_cors_headers
