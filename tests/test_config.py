"""Configuration (SPEC §2): defaults, precedence, parsing, and every refusal at startup."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask

from flask_strapi_sessions import ConfigError
from flask_strapi_sessions.config import Settings, load_settings
from tests.support import ADMIN_SECRET, UP_SECRET, admin_login, register_admin

SECRETS = {"ADMIN_JWT_SECRET": ADMIN_SECRET, "JWT_SECRET": UP_SECRET}
LOGGER = "flask_strapi_sessions"


def load(environ: dict[str, str] | None = None, **config: Any) -> Settings:
    """Settings from the test secrets plus ``config``, with an explicit environment."""
    return load_settings({**SECRETS, **config}, environ or {})


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER and record.levelno >= logging.WARNING
    ]


# -- defaults -------------------------------------------------------------------------


def test_admin_defaults() -> None:
    admin = load().admin
    assert admin.enabled is True
    assert admin.secret == ADMIN_SECRET
    assert admin.url_prefix == "/admin"
    assert admin.access_ttl == 1800
    assert admin.max_refresh_ttl == 2592000
    assert admin.idle_refresh_ttl == 604800
    assert admin.max_session_ttl == 604800
    assert admin.idle_session_ttl == 3600
    assert admin.rotation_grace == 10
    assert admin.cookie.name == "strapi_admin_refresh"
    assert admin.cookie.path == "/admin"
    assert admin.cookie.domain is None
    assert admin.cookie.samesite == "lax"
    assert admin.cookie.secure is None  # auto: follows the request's scheme
    assert admin.ratelimit.enabled is True
    assert (admin.ratelimit.limit, admin.ratelimit.window) == (5, 300)


def test_content_api_defaults() -> None:
    up = load().up
    assert up.enabled is True
    assert up.secret == UP_SECRET
    assert up.url_prefix == "/api"
    assert up.jwt_management == "legacy-support"
    assert up.sessions_enabled is False
    assert up.legacy_expires_in == 7 * 86400
    assert up.access_ttl == 604800
    assert up.max_refresh_ttl == 2592000
    assert up.idle_refresh_ttl == 604800
    assert up.httponly is False
    assert up.rotation_grace == 10
    assert up.cookie.name == "strapi_up_refresh"
    assert up.cookie.samesite == "lax"
    assert up.cookie.path == "/"
    assert up.cookie.domain is None
    assert up.cookie.secure is False
    assert up.ratelimit.enabled is True
    assert (up.ratelimit.limit, up.ratelimit.window) == (10, 60)


def test_settings_are_frozen() -> None:
    settings = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.admin.access_ttl = 1  # type: ignore[misc]


def test_documented_defaults_start_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    load()
    assert warnings(caplog) == []


def test_refresh_mode_with_defaults_warns_only_about_the_insecure_cookie(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER)
    load(UP_JWT_MANAGEMENT="refresh")
    assert len(warnings(caplog)) == 1
    assert "UP_SESSIONS_COOKIE_SECURE" in warnings(caplog)[0]


# -- where values come from ---------------------------------------------------------


def test_app_config_beats_environment() -> None:
    settings = load({"ADMIN_SESSIONS_ACCESS_TTL": "600"}, ADMIN_SESSIONS_ACCESS_TTL=900)
    assert settings.admin.access_ttl == 900


def test_environment_beats_default() -> None:
    settings = load({"ADMIN_SESSIONS_ACCESS_TTL": "600", "UP_JWT_MANAGEMENT": "refresh"})
    assert settings.admin.access_ttl == 600
    assert settings.up.jwt_management == "refresh"


def test_secrets_come_from_the_environment() -> None:
    settings = load_settings({}, SECRETS)
    assert (settings.admin.secret, settings.up.secret) == (ADMIN_SECRET, UP_SECRET)


def test_make_app_reads_the_environment(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_SESSIONS_ACCESS_TTL", "15m")
    monkeypatch.setenv("UP_SESSIONS_ROTATION_GRACE", "5")
    app = make_app(UP_SESSIONS_ROTATION_GRACE=20)
    settings = app.extensions["strapi_sessions"].settings
    assert settings.admin.access_ttl == 900
    assert settings.up.rotation_grace == 20  # app.config beats the environment

    client = app.test_client()
    register_admin(client)
    token = admin_login(client).get_json()["data"]["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900


# -- parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("90", 90),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("7d", 604800),
        ("2w", 1209600),
        ("3D", 259200),
        (" 10m ", 600),
        (45, 45),
    ],
)
def test_durations(raw: Any, seconds: int) -> None:
    if isinstance(raw, str):
        settings = load({"UP_JWT_EXPIRES_IN": raw})  # from the environment
    else:
        settings = load(UP_JWT_EXPIRES_IN=raw)  # a Python value in app.config
    assert settings.up.legacy_expires_in == seconds


@pytest.mark.parametrize("raw", ["7x", "1.5h", "abc", "", "h", "-5", "5 days", True, 2.5])
def test_bad_durations_are_refused(raw: Any) -> None:
    with pytest.raises(ConfigError, match=r"UP_JWT_EXPIRES_IN=.*not a duration.*Ns/Nm/Nh/Nd/Nw"):
        load(UP_JWT_EXPIRES_IN=raw)


def test_integers_from_the_environment() -> None:
    settings = load({"UP_SESSIONS_ROTATION_GRACE": "0", "ADMIN_RATELIMIT_MAX": "12"})
    assert settings.up.rotation_grace == 0
    assert settings.admin.ratelimit.limit == 12


@pytest.mark.parametrize("raw", ["ten", "1.5", "-1"])
def test_bad_integers_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="UP_SESSIONS_ROTATION_GRACE"):
        load({"UP_SESSIONS_ROTATION_GRACE": raw})


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("Yes", True),
        ("on", True),
        ("ON", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        ("NO", False),
        ("off", False),
        ("Off", False),
    ],
)
def test_booleans_from_the_environment(raw: str, value: bool) -> None:
    settings = load({"UP_SESSIONS_HTTPONLY": raw, "UP_RATELIMIT_ENABLED": raw})
    assert settings.up.httponly is value
    assert settings.up.ratelimit.enabled is value


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", ""])
def test_bad_booleans_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"UP_SESSIONS_HTTPONLY=.*not a boolean.*yes/no"):
        load({"UP_SESSIONS_HTTPONLY": raw})


def test_python_values_in_app_config() -> None:
    settings = load(UP_SESSIONS_HTTPONLY=True, ADMIN_COOKIE_SECURE=False, UP_JWT_EXPIRES_IN=60)
    assert settings.up.httponly is True
    assert settings.admin.cookie.secure is False
    assert settings.up.legacy_expires_in == 60


def test_enum_values_ignore_case() -> None:
    settings = load({"UP_JWT_MANAGEMENT": "Refresh", "ADMIN_COOKIE_SAMESITE": "STRICT"})
    assert settings.up.jwt_management == "refresh"
    assert settings.admin.cookie.samesite == "strict"


# -- refusals: secrets ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["ADMIN_JWT_SECRET", "JWT_SECRET"])
def test_missing_secret_is_refused(key: str) -> None:
    config = {k: v for k, v in SECRETS.items() if k != key}
    with pytest.raises(ConfigError, match=f"^{key} is missing or empty"):
        load_settings(config, {})


@pytest.mark.parametrize("key", ["ADMIN_JWT_SECRET", "JWT_SECRET"])
def test_empty_secret_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key} is missing or empty"):
        load(**{key: ""})


@pytest.mark.parametrize(
    ("key", "disable"), [("ADMIN_JWT_SECRET", "ADMIN_ENABLED"), ("JWT_SECRET", "UP_ENABLED")]
)
def test_secret_not_needed_when_its_origin_is_disabled(key: str, disable: str) -> None:
    config = {k: v for k, v in SECRETS.items() if k != key}
    settings = load_settings({**config, disable: "false"}, {})
    disabled = settings.admin if key == "ADMIN_JWT_SECRET" else settings.up
    enabled = settings.up if key == "ADMIN_JWT_SECRET" else settings.admin
    assert (disabled.enabled, disabled.secret) == (False, "")
    assert enabled.enabled is True


def test_equal_secrets_are_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET and ADMIN_JWT_SECRET are equal"):
        load(JWT_SECRET=ADMIN_SECRET)


def test_equal_secrets_allowed_when_one_origin_is_disabled() -> None:
    settings = load(JWT_SECRET=ADMIN_SECRET, ADMIN_ENABLED=False)
    assert settings.up.secret == ADMIN_SECRET


@pytest.mark.parametrize(
    "placeholder",
    [
        "your-admin-secret-key",
        "your-content-api-secret-key",
        "changeme",
        "tobemodified",
        "ChangeMe",
        "toBeModified",
    ],
)
@pytest.mark.parametrize("key", ["ADMIN_JWT_SECRET", "JWT_SECRET"])
def test_placeholder_secrets_are_refused(key: str, placeholder: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=.*documentation placeholder") as info:
        load(**{key: placeholder})
    assert placeholder not in str(info.value)  # the message never prints a secret


@pytest.mark.parametrize("key", ["ADMIN_JWT_SECRET", "JWT_SECRET"])
def test_secret_shorter_than_16_bytes_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=.*15 bytes, shorter than 16"):
        load(**{key: "x" * 15})


def test_secret_length_counts_bytes_not_characters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    with pytest.raises(ConfigError, match=r"JWT_SECRET=.*14 bytes"):
        load(JWT_SECRET="é" * 7)
    load(JWT_SECRET="é" * 8)  # 16 bytes: accepted with a warning
    assert warnings(caplog) == ["JWT_SECRET is 16 bytes; 32 bytes or more is recommended."]


@pytest.mark.parametrize("size", [16, 31])
@pytest.mark.parametrize("key", ["ADMIN_JWT_SECRET", "JWT_SECRET"])
def test_secret_shorter_than_32_bytes_warns(
    key: str, size: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    settings = load(**{key: "k" * size})
    origin = "admin" if key.startswith("ADMIN") else "users-permissions"
    assert settings.for_origin(origin).secret == "k" * size
    assert warnings(caplog) == [f"{key} is {size} bytes; 32 bytes or more is recommended."]


def test_secret_of_32_bytes_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(ADMIN_JWT_SECRET="a" * 32, JWT_SECRET="b" * 32)
    assert warnings(caplog) == []


# -- refusals: lifespans -----------------------------------------------------------------

LIFESPANS = [
    "ADMIN_SESSIONS_ACCESS_TTL",
    "ADMIN_SESSIONS_MAX_REFRESH_TTL",
    "ADMIN_SESSIONS_IDLE_REFRESH_TTL",
    "ADMIN_SESSIONS_MAX_SESSION_TTL",
    "ADMIN_SESSIONS_IDLE_SESSION_TTL",
    "UP_JWT_EXPIRES_IN",
    "UP_SESSIONS_ACCESS_TTL",
    "UP_SESSIONS_MAX_REFRESH_TTL",
    "UP_SESSIONS_IDLE_REFRESH_TTL",
]


@pytest.mark.parametrize("value", [0, -1, "0", "0s", "0d"])
@pytest.mark.parametrize("key", LIFESPANS)
def test_non_positive_lifespans_are_refused(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=.*must be positive"):
        load(**{key: value})


@pytest.mark.parametrize("key", LIFESPANS)
def test_negative_lifespan_from_environment_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}="):
        load({key: "-60"})


@pytest.mark.parametrize(
    ("idle_key", "max_key"),
    [
        ("ADMIN_SESSIONS_IDLE_REFRESH_TTL", "ADMIN_SESSIONS_MAX_REFRESH_TTL"),
        ("ADMIN_SESSIONS_IDLE_SESSION_TTL", "ADMIN_SESSIONS_MAX_SESSION_TTL"),
        ("UP_SESSIONS_IDLE_REFRESH_TTL", "UP_SESSIONS_MAX_REFRESH_TTL"),
    ],
)
def test_idle_longer_than_max_is_refused(idle_key: str, max_key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{idle_key}=7201 is longer than {max_key}=7200"):
        load(**{idle_key: 7201, max_key: 7200})
    load(**{idle_key: 7200, max_key: 7200})  # equal is fine


# -- refusals: cookies, enums, grace ---------------------------------------------------------


@pytest.mark.parametrize("prefix", ["ADMIN_COOKIE", "UP_SESSIONS_COOKIE"])
@pytest.mark.parametrize("secure", [None, False, "auto", "false"])
def test_samesite_none_without_secure_is_refused(prefix: str, secure: Any) -> None:
    config: dict[str, Any] = {f"{prefix}_SAMESITE": "none"}
    if secure is not None:
        config[f"{prefix}_SECURE"] = secure
    with pytest.raises(ConfigError, match=f"^{prefix}_SAMESITE='none' requires {prefix}_SECURE"):
        load(**config)


@pytest.mark.parametrize("prefix", ["ADMIN_COOKIE", "UP_SESSIONS_COOKIE"])
def test_samesite_none_with_secure_is_accepted(prefix: str) -> None:
    settings = load({f"{prefix}_SAMESITE": "None", f"{prefix}_SECURE": "true"})
    cookie = settings.admin.cookie if prefix == "ADMIN_COOKIE" else settings.up.cookie
    assert (cookie.samesite, cookie.secure) == ("none", True)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("UP_JWT_MANAGEMENT", "session"),
        ("UP_JWT_MANAGEMENT", "refresh-only"),
        ("UP_JWT_MANAGEMENT", ""),
        ("ADMIN_COOKIE_SAMESITE", "loose"),
        ("UP_SESSIONS_COOKIE_SAMESITE", "off"),
    ],
)
def test_unknown_enum_values_are_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=.*unknown value. Accepted: "):
        load({key: value})


@pytest.mark.parametrize("key", ["ADMIN_SESSIONS_ROTATION_GRACE", "UP_SESSIONS_ROTATION_GRACE"])
def test_grace_longer_than_60_seconds_is_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}=61: is too long. Accepted: 0 to 60"):
        load(**{key: 61})
    origin = "admin" if key.startswith("ADMIN") else "users-permissions"
    assert load(**{key: 60}).for_origin(origin).rotation_grace == 60
    assert load({key: "0"}).for_origin(origin).rotation_grace == 0  # 0 disables grace


def test_admin_cookie_path_follows_the_admin_prefix() -> None:
    """The refresh cookie must reach ``<prefix>/access-token`` when the prefix moves."""
    assert load(ADMIN_URL_PREFIX="/backoffice/").admin.cookie.path == "/backoffice"
    assert load(ADMIN_URL_PREFIX="/").admin.cookie.path == "/"
    moved = load(ADMIN_URL_PREFIX="/backoffice", ADMIN_COOKIE_PATH="/")
    assert moved.admin.cookie.path == "/"


@pytest.mark.parametrize("key", ["ADMIN_URL_PREFIX", "UP_URL_PREFIX", "ADMIN_COOKIE_PATH"])
def test_paths_must_start_with_a_slash(key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}='api': must start with '/'"):
        load(**{key: "api"})


def test_bad_value_fails_in_init_app(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match=r"^JWT_SECRET=.*documentation placeholder"):
        make_app(JWT_SECRET="tobemodified")


# -- warnings ---------------------------------------------------------------------------------


def test_admin_access_ttl_longer_than_idle_session_ttl_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(ADMIN_SESSIONS_ACCESS_TTL="2h")
    assert warnings(caplog) == [
        "ADMIN_SESSIONS_ACCESS_TTL=7200 is longer than ADMIN_SESSIONS_IDLE_SESSION_TTL=3600: "
        "access tokens will outlive the idle window of the sessions they come from."
    ]


def test_content_access_ttl_longer_than_idle_refresh_ttl_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(TESTING=True, UP_JWT_MANAGEMENT="refresh", UP_SESSIONS_IDLE_REFRESH_TTL="1d")
    [message] = warnings(caplog)
    assert message.startswith(
        "UP_SESSIONS_ACCESS_TTL=604800 is longer than UP_SESSIONS_IDLE_REFRESH_TTL=86400"
    )


def test_access_ttl_within_idle_ttl_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(TESTING=True, UP_JWT_MANAGEMENT="refresh", UP_SESSIONS_ACCESS_TTL="10m")
    assert warnings(caplog) == []


def test_insecure_content_cookie_warns_outside_debug_and_testing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(UP_JWT_MANAGEMENT="refresh")
    [message] = warnings(caplog)
    assert message.startswith("UP_SESSIONS_COOKIE_SECURE is false")


@pytest.mark.parametrize(
    "config",
    [{"TESTING": True}, {"DEBUG": True}, {"UP_SESSIONS_COOKIE_SECURE": True}],
)
def test_insecure_content_cookie_is_quiet_in_debug_testing_or_when_secure(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    load(UP_JWT_MANAGEMENT="refresh", **config)
    assert warnings(caplog) == []
