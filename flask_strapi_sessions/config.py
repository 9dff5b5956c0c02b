"""Settings: the only reader of ``app.config`` and the environment.

Each key is looked up in ``app.config``, then in the environment variable of the same
name, then falls back to its default. Values are parsed and validated once, in
``init_app``; a bad value raises :class:`ConfigError` naming the key, the problem and
what is accepted.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

logger = logging.getLogger("flask_strapi_sessions")

ADMIN = "admin"
USERS_PERMISSIONS = "users-permissions"
Origin = Literal["admin", "users-permissions"]

PLACEHOLDER_SECRETS = frozenset(
    {
        "your-admin-secret-key",
        "your-content-api-secret-key",
        "your-secret-key",
        "changeme",
        "change-me",
        "change_me",
        "tobemodified",
        "secret",
        "jwtsecret",
        "adminjwtsecret",
        "mysecret",
        "password",
        # the README's own examples
        "…32+ random bytes…",
        "…another 32+ random bytes…",
    }
)
MIN_SECRET_BYTES = 16
RECOMMENDED_SECRET_BYTES = 32
MAX_GRACE_SECONDS = 60

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SAMESITE = ("lax", "strict", "none")

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value was missing or invalid; the message names the key."""


@dataclass(frozen=True)
class CookieSettings:
    """Attributes of one origin's refresh cookie; the same for setting and clearing."""

    name: str
    path: str
    domain: str | None
    samesite: str
    secure: bool | None  # None: decided per request (Secure when the request is HTTPS)


@dataclass(frozen=True)
class RateLimitSettings:
    """Requests allowed per window on an origin's credential routes."""

    enabled: bool
    limit: int
    window: int
    by_email: bool


@dataclass(frozen=True)
class OriginSettings:
    """Everything one origin needs; built once by :func:`load_settings`."""

    origin: str
    enabled: bool
    secret: str
    url_prefix: str
    access_ttl: int
    max_refresh_ttl: int
    idle_refresh_ttl: int
    max_session_ttl: int
    idle_session_ttl: int
    rotation_grace: int
    cookie: CookieSettings
    ratelimit: RateLimitSettings
    trusted_origins: tuple[str, ...]
    session_check_interval: float
    # users-permissions only
    jwt_management: str = "refresh"
    legacy_expires_in: int = 0
    httponly: bool = True

    @property
    def sessions_enabled(self) -> bool:
        """True when this origin issues refresh tokens backed by session rows."""
        return self.jwt_management == "refresh"

    def lifespans(self, remember: bool) -> tuple[int, int]:
        """``(idle, max)`` for a new session: the refresh pair, or the session pair."""
        if remember:
            return self.idle_refresh_ttl, self.max_refresh_ttl
        return self.idle_session_ttl, self.max_session_ttl


@dataclass(frozen=True)
class Settings:
    """Both origins' settings plus the shared ones."""

    admin: OriginSettings
    up: OriginSettings
    ratelimit_storage_uri: str
    max_body_bytes: int
    ratelimit_key_prefix: str = "fss"

    def for_origin(self, origin: str) -> OriginSettings:
        """The settings of ``origin`` (``"admin"`` or ``"users-permissions"``)."""
        return self.admin if origin == ADMIN else self.up


class _Reader:
    """Looks a key up in app.config, then the environment, then the default."""

    def __init__(self, config: Mapping[str, Any], environ: Mapping[str, str]):
        self.config = config
        self.environ = environ

    def raw(self, key: str) -> Any:
        if key in self.config:
            return self.config[key]
        return self.environ.get(key)

    def get(self, key: str, default: T, parse: Callable[[str, Any], T]) -> T:
        value = self.raw(key)
        if value is None:
            return default
        return parse(key, value)


def _fail(key: str, value: Any, problem: str, accepted: str) -> ConfigError:
    return ConfigError(f"{key}={value!r}: {problem}. Accepted: {accepted}.")


def parse_bool(key: str, value: Any) -> bool:
    """Parse ``true/false/1/0/yes/no/on/off`` (any case) or a real bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _fail(key, value, "not a boolean", "true/false, 1/0, yes/no, on/off")


def parse_duration(key: str, value: Any) -> int:
    """Parse seconds: an int, or a string ``N`` / ``Ns`` / ``Nm`` / ``Nh`` / ``Nd`` / ``Nw``."""
    if isinstance(value, bool):
        raise _fail(key, value, "not a duration", "seconds or Ns/Nm/Nh/Nd/Nw")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.match(value.lower())):
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise _fail(key, value, "not a duration", "seconds or Ns/Nm/Nh/Nd/Nw")
    if seconds <= 0:
        raise _fail(key, value, "must be positive", "a duration greater than zero")
    return seconds


def parse_int(key: str, value: Any) -> int:
    """Parse a non-negative integer."""
    if isinstance(value, bool):
        raise _fail(key, value, "not an integer", "a whole number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _fail(key, value, "not an integer", "a whole number") from None
    if number < 0:
        raise _fail(key, value, "must not be negative", "0 or more")
    return number


def parse_float(key: str, value: Any) -> float:
    """Parse a non-negative number of seconds."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(key, value, "not a number", "seconds, e.g. 0.5") from None
    if not number >= 0:
        raise _fail(key, value, "must not be negative", "0 or more")
    return number


def parse_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(key, value, "not a string", "text")
    return value


def _enum(*choices: str) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise _fail(key, value, "unknown value", " / ".join(choices))

    return parse


def parse_list(key: str, value: Any) -> tuple[str, ...]:
    """A comma-separated string or a list of strings."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        raise _fail(key, value, "not a list", "comma-separated text or a list")
    return tuple(item.rstrip("/") for item in items if item)


def _optional_bool(key: str, value: Any) -> bool | None:
    if isinstance(value, str) and value.strip().lower() in ("", "auto"):
        return None
    return parse_bool(key, value)


def _prefix(key: str, value: Any) -> str:
    text = parse_text(key, value)
    if not text.startswith("/"):
        raise _fail(key, value, "must start with '/'", "a URL path such as /api")
    return text.rstrip("/")  # "/" (mount at the root) becomes ""


def _check_secret(key: str, secret: str, *, debug: bool) -> None:
    if not secret:
        raise ConfigError(
            f"{key} is missing or empty: the origin it signs is enabled. "
            "Accepted: a random string of at least 32 bytes, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        raise _fail(key, "***", "is a documentation placeholder", "a random secret")
    size = len(secret.encode())
    if size < MIN_SECRET_BYTES:
        raise _fail(
            key, "***", f"is {size} bytes, shorter than {MIN_SECRET_BYTES}", "32 bytes or more"
        )
    if size < RECOMMENDED_SECRET_BYTES:
        logger.warning("%s is %d bytes; 32 bytes or more is recommended.", key, size)


def _check_pair(idle_key: str, idle: int, max_key: str, max_: int) -> None:
    if idle > max_:
        raise ConfigError(
            f"{idle_key}={idle} is longer than {max_key}={max_}: an idle lifespan cannot "
            f"exceed its absolute lifespan. Accepted: {idle_key} <= {max_key}."
        )


def _cookie(
    r: _Reader, prefix: str, name: str, path: str, secure_default: bool | None
) -> CookieSettings:
    samesite = r.get(f"{prefix}_SAMESITE", "lax", _enum(*_SAMESITE))
    secure = r.get(f"{prefix}_SECURE", secure_default, _optional_bool)
    if samesite == "none" and secure is not True:
        raise ConfigError(
            f"{prefix}_SAMESITE='none' requires {prefix}_SECURE=true: browsers refuse "
            "SameSite=None cookies without Secure. Accepted: lax / strict, or set "
            f"{prefix}_SECURE=true."
        )
    domain = r.get(f"{prefix}_DOMAIN", None, parse_text) or None
    return CookieSettings(
        name=r.get(f"{prefix}_NAME", name, parse_text),
        path=r.get(f"{prefix}_PATH", path, _prefix) or "/",
        domain=domain,
        samesite=samesite,
        secure=secure,
    )


def _grace(r: _Reader, key: str) -> int:
    grace = r.get(key, 10, parse_int)
    if grace > MAX_GRACE_SECONDS:
        raise _fail(key, grace, "is too long", f"0 to {MAX_GRACE_SECONDS} seconds")
    return grace


def _ratelimit(
    r: _Reader, prefix: str, limit: int, window: int, by_email: bool
) -> RateLimitSettings:
    limit_value = r.get(f"{prefix}_RATELIMIT_MAX", limit, parse_int)
    if limit_value < 1:
        raise _fail(f"{prefix}_RATELIMIT_MAX", limit_value, "must be positive", "1 or more")
    return RateLimitSettings(
        enabled=r.get(f"{prefix}_RATELIMIT_ENABLED", True, parse_bool),
        limit=limit_value,
        window=r.get(f"{prefix}_RATELIMIT_WINDOW", window, parse_duration),
        by_email=by_email,
    )


def _warn_access_ttl(access_key: str, access: int, idle_key: str, idle: int) -> None:
    if access > idle:
        logger.warning(
            "%s=%d is longer than %s=%d: access tokens will outlive the idle window "
            "of the sessions they come from.",
            access_key,
            access,
            idle_key,
            idle,
        )


def load_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every key; raise :class:`ConfigError` on the first bad one."""
    r = _Reader(config, os.environ if environ is None else environ)
    debug = bool(config.get("DEBUG")) or bool(config.get("TESTING"))

    admin_enabled = r.get("ADMIN_ENABLED", True, parse_bool)
    up_enabled = r.get("UP_ENABLED", True, parse_bool)
    admin_secret = r.get("ADMIN_JWT_SECRET", "", parse_text)
    up_secret = r.get("JWT_SECRET", "", parse_text)
    if admin_enabled:
        _check_secret("ADMIN_JWT_SECRET", admin_secret, debug=debug)
    if up_enabled:
        _check_secret("JWT_SECRET", up_secret, debug=debug)
    if admin_enabled and up_enabled and admin_secret == up_secret:
        raise ConfigError(
            "JWT_SECRET and ADMIN_JWT_SECRET are equal: one origin would accept the other's "
            "tokens. Accepted: two different random secrets."
        )

    admin_access = r.get("ADMIN_SESSIONS_ACCESS_TTL", 1800, parse_duration)
    admin_max_refresh = r.get("ADMIN_SESSIONS_MAX_REFRESH_TTL", 2592000, parse_duration)
    admin_idle_refresh = r.get("ADMIN_SESSIONS_IDLE_REFRESH_TTL", 604800, parse_duration)
    admin_max_session = r.get("ADMIN_SESSIONS_MAX_SESSION_TTL", 604800, parse_duration)
    admin_idle_session = r.get("ADMIN_SESSIONS_IDLE_SESSION_TTL", 3600, parse_duration)
    _check_pair(
        "ADMIN_SESSIONS_IDLE_REFRESH_TTL",
        admin_idle_refresh,
        "ADMIN_SESSIONS_MAX_REFRESH_TTL",
        admin_max_refresh,
    )
    _check_pair(
        "ADMIN_SESSIONS_IDLE_SESSION_TTL",
        admin_idle_session,
        "ADMIN_SESSIONS_MAX_SESSION_TTL",
        admin_max_session,
    )
    if admin_enabled:
        _warn_access_ttl(
            "ADMIN_SESSIONS_ACCESS_TTL",
            admin_access,
            "ADMIN_SESSIONS_IDLE_SESSION_TTL",
            admin_idle_session,
        )
        _warn_access_ttl(
            "ADMIN_SESSIONS_ACCESS_TTL",
            admin_access,
            "ADMIN_SESSIONS_IDLE_REFRESH_TTL",
            admin_idle_refresh,
        )

    admin_prefix = r.get("ADMIN_URL_PREFIX", "/admin", _prefix)
    admin = OriginSettings(
        origin=ADMIN,
        enabled=admin_enabled,
        secret=admin_secret,
        url_prefix=admin_prefix,
        access_ttl=admin_access,
        max_refresh_ttl=admin_max_refresh,
        idle_refresh_ttl=admin_idle_refresh,
        max_session_ttl=admin_max_session,
        idle_session_ttl=admin_idle_session,
        rotation_grace=_grace(r, "ADMIN_SESSIONS_ROTATION_GRACE"),
        # the cookie must reach <prefix>/access-token, so its path follows the prefix
        cookie=_cookie(r, "ADMIN_COOKIE", "strapi_admin_refresh", admin_prefix or "/", None),
        ratelimit=_ratelimit(r, "ADMIN", 5, 300, by_email=True),
        trusted_origins=r.get("ADMIN_TRUSTED_ORIGINS", (), parse_list),
        session_check_interval=r.get("ADMIN_SESSIONS_CHECK_INTERVAL", 0.0, _check_interval),
    )

    management = r.get("UP_JWT_MANAGEMENT", "legacy-support", _enum("legacy-support", "refresh"))
    up_access = r.get("UP_SESSIONS_ACCESS_TTL", 604800, parse_duration)
    up_max_refresh = r.get("UP_SESSIONS_MAX_REFRESH_TTL", 2592000, parse_duration)
    up_idle_refresh = r.get("UP_SESSIONS_IDLE_REFRESH_TTL", 604800, parse_duration)
    _check_pair(
        "UP_SESSIONS_IDLE_REFRESH_TTL",
        up_idle_refresh,
        "UP_SESSIONS_MAX_REFRESH_TTL",
        up_max_refresh,
    )
    if up_enabled and management == "refresh":
        _warn_access_ttl(
            "UP_SESSIONS_ACCESS_TTL", up_access, "UP_SESSIONS_IDLE_REFRESH_TTL", up_idle_refresh
        )
    up_cookie = _cookie(r, "UP_SESSIONS_COOKIE", "strapi_up_refresh", "/", False)
    if up_enabled and management == "refresh" and not up_cookie.secure and not debug:
        logger.warning(
            "UP_SESSIONS_COOKIE_SECURE is false: the content-API refresh cookie will also "
            "travel over plain HTTP. Set UP_SESSIONS_COOKIE_SECURE=true in production."
        )
    up = OriginSettings(
        origin=USERS_PERMISSIONS,
        enabled=up_enabled,
        secret=up_secret,
        url_prefix=r.get("UP_URL_PREFIX", "/api", _prefix),
        access_ttl=up_access,
        max_refresh_ttl=up_max_refresh,
        idle_refresh_ttl=up_idle_refresh,
        # the content API has only remember-me style sessions
        max_session_ttl=up_max_refresh,
        idle_session_ttl=up_idle_refresh,
        rotation_grace=_grace(r, "UP_SESSIONS_ROTATION_GRACE"),
        cookie=up_cookie,
        ratelimit=_ratelimit(r, "UP", 10, 60, by_email=False),
        trusted_origins=r.get("UP_TRUSTED_ORIGINS", (), parse_list),
        session_check_interval=r.get("UP_SESSIONS_CHECK_INTERVAL", 0.0, _check_interval),
        jwt_management=management,
        legacy_expires_in=r.get("UP_JWT_EXPIRES_IN", 604800, parse_duration),
        httponly=r.get("UP_SESSIONS_HTTPONLY", False, parse_bool),
    )
    return Settings(
        admin=admin,
        up=up,
        ratelimit_storage_uri=r.get("RATELIMIT_STORAGE_URI", "memory://", parse_text),
        max_body_bytes=r.get("STRAPI_MAX_BODY_BYTES", 64 * 1024, parse_int),
        ratelimit_key_prefix=r.get("RATELIMIT_KEY_PREFIX", "fss", _key_prefix),
    )


def _key_prefix(key: str, value: Any) -> str:
    """The namespace of this app's rate-limit counters in a shared store."""
    text = parse_text(key, value).strip()
    if not text or any(c.isspace() for c in text):
        raise _fail(key, value, "must be a non-empty word", "e.g. myapp or myapp-staging")
    return text


def _check_interval(key: str, value: Any) -> float:
    interval = parse_float(key, value)
    if interval > 1:
        raise _fail(key, value, "is longer than 1 second", "0 (check every request) to 1")
    return interval
