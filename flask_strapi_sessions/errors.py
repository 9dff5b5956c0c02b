"""HTTP errors that render Strapi's JSON error body.

Every error is a :class:`werkzeug.exceptions.HTTPException`, so Flask renders it
through ``get_response`` without any app-wide handler and nothing upstream can
turn it into a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException


class StrapiError(HTTPException):
    """Base class: ``{"data": null, "error": {status, name, message, details}}``."""

    code = 400
    name = "ApplicationError"
    message = "An error occurred"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description=message or self.message)
        self.details: dict[str, Any] = dict(details or {})
        self.extra_headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON document this error renders."""
        return {
            "data": None,
            "error": {
                "status": self.code,
                "name": self.name,
                "message": self.description,
                "details": self.details,
            },
        }

    def get_response(
        self,
        environ: Any = None,
        scope: Any = None,
    ) -> Response:
        headers = [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            ("Pragma", "no-cache"),
        ]
        headers.extend(self.extra_headers.items())
        return Response(json.dumps(self.body(), separators=(",", ":")), self.code or 400, headers)


class ValidationError(StrapiError):
    code = 400
    name = "ValidationError"
    message = "Invalid parameters"


class ApplicationError(StrapiError):
    code = 400
    name = "ApplicationError"


class BadRequestError(StrapiError):
    code = 400
    name = "BadRequestError"
    message = "Bad Request"


class PayloadTooLargeError(StrapiError):
    code = 413
    name = "PayloadTooLargeError"
    message = "Request body is too large"


class UnsupportedMediaTypeError(StrapiError):
    code = 415
    name = "UnsupportedMediaTypeError"
    message = "Request body must be JSON"


class UnauthorizedError(StrapiError):
    code = 401
    name = "UnauthorizedError"
    message = "Missing or invalid credentials"


class ForbiddenError(StrapiError):
    code = 403
    name = "ForbiddenError"
    message = "Forbidden"


class NotFoundError(StrapiError):
    code = 404
    name = "NotFoundError"
    message = "Not Found"


class RateLimitError(StrapiError):
    code = 429
    name = "RateLimitError"
    message = "Too many requests, please try again later."


class ServiceUnavailableError(StrapiError):
    code = 503
    name = "ServiceUnavailableError"
    message = "Service temporarily unavailable, please try again later."


def bearer_challenge() -> dict[str, str]:
    """Headers for a 401 on a route that takes a Bearer token."""
    return {"WWW-Authenticate": 'Bearer realm="strapi"'}


def field_errors(problems: Iterable[tuple[str, str]]) -> ValidationError:
    """One ValidationError for several field problems, shaped like Strapi's yup errors."""
    items = [
        {"path": [path], "message": message, "name": "ValidationError"}
        for path, message in problems
    ]
    if len(items) == 1:
        return ValidationError(str(items[0]["message"]), details={"errors": items})
    return ValidationError(f"{len(items)} errors occurred", details={"errors": items})
