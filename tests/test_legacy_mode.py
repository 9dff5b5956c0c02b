"""The content API in ``legacy-support`` mode: one long-lived JWT, no sessions (SPEC §3, §5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_strapi_sessions.config import ADMIN, load_settings
from tests.session_clients import AdminClient, ContentClient, session_rows
from tests.support import (
    ADMIN_SECRET,
    INVALID_REFRESH,
    UNAUTHORIZED,
    UP_SECRET,
    FakeClock,
    bearer,
    error,
    login,
    register,
)

LEGACY = {"UP_JWT_MANAGEMENT": "legacy-support"}
NOT_FOUND = (404, "NotFoundError", "Not Found")


@pytest.fixture
def legacy_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(**LEGACY)


@pytest.fixture
def legacy(legacy_app: Flask) -> FlaskClient:
    return legacy_app.test_client()


def legacy_claims(token: str) -> dict[str, Any]:
    """The verified claims of a legacy JWT (the fake clock is ahead of real time)."""
    return dict(
        jwt.decode(
            token,
            UP_SECRET,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False},
        )
    )


def change_password(client: FlaskClient, token: str, new: str = "another-secret") -> Any:
    body = {"currentPassword": "secret123", "password": new, "passwordConfirmation": new}
    return client.post("/api/auth/change-password", json=body, headers=bearer(token))


def test_legacy_support_is_the_default_mode() -> None:
    config = {"JWT_SECRET": UP_SECRET, "ADMIN_JWT_SECRET": ADMIN_SECRET, "TESTING": True}
    settings = load_settings(config, environ={})
    assert settings.up.jwt_management == "legacy-support"
    assert settings.up.sessions_enabled is False
    assert settings.up.legacy_expires_in == 7 * 86400


@pytest.mark.parametrize(("expires_in", "seconds"), [("7d", 604800), ("3600", 3600), (90, 90)])
def test_login_register_and_change_password_answer_jwt_and_user(
    make_app: Callable[..., Flask], clock: FakeClock, expires_in: Any, seconds: int
) -> None:
    client = make_app(UP_JWT_EXPIRES_IN=expires_in, **LEGACY).test_client()
    registered = register(client)
    logged_in = login(client)
    assert registered.status_code == logged_in.status_code == 200
    changed = change_password(client, logged_in.get_json()["jwt"])
    assert changed.status_code == 200, changed.get_json()

    for response in (registered, logged_in, changed):
        payload = response.get_json()
        assert set(payload) == {"jwt", "user"}
        assert payload["user"]["username"] == "alice"
        assert "password" not in payload["user"] and "passwordHash" not in payload["user"]
        claims = legacy_claims(payload["jwt"])
        assert set(claims) == {"id", "iat", "exp"}
        assert type(claims["id"]) is int and claims["id"] == payload["user"]["id"]
        assert claims["iat"] == int(clock())
        assert claims["exp"] - claims["iat"] == seconds
        assert "strapi_up_refresh" not in str(response.headers.getlist("Set-Cookie"))


def test_legacy_token_authenticates_until_it_expires(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    client = make_app(UP_JWT_EXPIRES_IN=3600, **LEGACY).test_client()
    token = register(client).get_json()["jwt"]
    me = client.get("/api/users/me", headers=bearer(token))
    assert me.status_code == 200 and me.get_json()["username"] == "alice"
    clock.advance(3599.999)
    assert client.get("/api/users/me", headers=bearer(token)).status_code == 200
    clock.advance(0.001)
    assert error(client.get("/api/users/me", headers=bearer(token))) == UNAUTHORIZED


def test_session_routes_do_not_exist_in_legacy_mode(legacy: FlaskClient) -> None:
    token = register(legacy).get_json()["jwt"]
    auth = bearer(token)
    answers = [
        legacy.post("/api/auth/refresh", json={"refreshToken": "anything"}),
        legacy.post("/api/auth/refresh", json={}),
        legacy.post("/api/auth/logout", json={}, headers=auth),
        legacy.post("/api/auth/logout", json={"scope": "all"}, headers=auth),
        legacy.get("/api/auth/sessions", headers=auth),
        legacy.delete("/api/auth/sessions/0123456789abcdef0123456789abcdef", headers=auth),
    ]
    for response in answers:
        assert error(response) == NOT_FOUND
    # and the token still works: nothing was logged out
    assert legacy.get("/api/users/me", headers=auth).status_code == 200


def test_legacy_mode_writes_no_session_rows(legacy_app: Flask, legacy: FlaskClient) -> None:
    token = register(legacy).get_json()["jwt"]
    login(legacy, body={"deviceId": "laptop"})
    legacy.get("/api/users/me", headers=bearer(token))
    change_password(legacy, token)
    assert session_rows(legacy_app) == []


def test_admin_stays_session_managed_in_legacy_mode(legacy_app: Flask, clock: FakeClock) -> None:
    admin = AdminClient(legacy_app)
    admin.create_user("ada")
    first = admin.login("ada")
    assert [row.origin for row in session_rows(legacy_app)] == [ADMIN]
    clock.advance(1)
    renewed = admin.refresh(first.refresh)
    assert renewed.status_code == 200
    assert admin.me(admin.tokens(renewed).access).status_code == 200
    assert admin.logout(first.access).status_code == 200
    assert error(admin.refresh(admin.tokens(renewed).refresh))[0] == 401


def test_legacy_and_refresh_tokens_are_not_interchangeable(
    make_app: Callable[..., Flask],
) -> None:
    # two apps on one database and one secret: a deployment before and after migrating
    legacy_app = make_app(**LEGACY)
    refresh_app = make_app()
    legacy_token = register(legacy_app.test_client()).get_json()["jwt"]
    modern = ContentClient(refresh_app)
    modern.create_user("bob")
    access = modern.login("bob")

    legacy_client = legacy_app.test_client()
    # alice exists in both apps (one database): only the token's kind decides
    assert legacy_client.get("/api/users/me", headers=bearer(legacy_token)).status_code == 200
    assert error(modern.me(legacy_token)) == UNAUTHORIZED
    assert error(modern.refresh(legacy_token)) == INVALID_REFRESH
    refused = legacy_client.get("/api/users/me", headers=bearer(access.access))
    assert error(refused) == UNAUTHORIZED
