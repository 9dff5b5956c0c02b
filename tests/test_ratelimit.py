"""Rate limits on the credential routes (SPEC §5, Strapi reference §35-36).

The counters live in the ``limits`` library's in-process store, which keeps real time;
nothing here waits for a window to pass. The configured window is checked through
``Retry-After`` (a 120 s window tells the client to come back after more than a minute),
never by sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from flask_strapi_sessions.models import StrapiSession
from tests.support import admin_login, bearer, login, register, register_admin

RATE_LIMITED = {
    "data": None,
    "error": {
        "status": 429,
        "name": "RateLimitError",
        "message": "Too many requests, please try again later.",
        "details": {},
    },
}
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
OTHER_IP = {"REMOTE_ADDR": "203.0.113.7"}


def sessions(app: Flask) -> int:
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        return int(db.execute(select(func.count()).select_from(StrapiSession)).scalar_one())


def assert_limited(response: TestResponse, limit: int) -> int:
    """A 429 with Strapi's body and every header; returns Retry-After."""
    assert response.status_code == 429
    assert response.get_json() == RATE_LIMITED
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


@pytest.fixture
def limited(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``limited(**config)``: an app with both origins' limits on."""

    def factory(**config: Any) -> Flask:
        return make_app(UP_RATELIMIT_ENABLED=True, ADMIN_RATELIMIT_ENABLED=True, **config)

    return factory


def fail_login(client: FlaskClient, times: int, **extra: Any) -> list[TestResponse]:
    return [login(client, "alice", "wrong-password", **extra) for _ in range(times)]


# -- content API ------------------------------------------------------------------------


def test_login_allows_ten_a_minute_then_429(limited: Callable[..., Flask]) -> None:
    app = limited()
    client = app.test_client()
    register(client, environ_base=OTHER_IP)
    responses = fail_login(client, 10)
    assert [r.status_code for r in responses] == [400] * 10
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == [
        str(n) for n in range(9, -1, -1)
    ]
    assert all(r.headers["X-RateLimit-Limit"] == "10" for r in responses)

    rows = sessions(app)
    eleventh = login(client)  # the right password, still refused
    retry_after = assert_limited(eleventh, 10)
    assert retry_after <= 61  # a one-minute window
    assert "jwt" not in eleventh.get_data(as_text=True)
    assert sessions(app) == rows


def test_successful_login_carries_the_headers(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    register(client, environ_base=OTHER_IP)
    response = login(client)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "9"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert "Retry-After" not in response.headers


def test_limit_is_per_client_ip(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    register(client, environ_base=OTHER_IP)
    fail_login(client, 10)
    assert login(client).status_code == 429
    elsewhere = login(client, environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert elsewhere.status_code == 200
    assert elsewhere.headers["X-RateLimit-Remaining"] == "9"


def test_limit_is_per_route(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    fail_login(client, 11)
    assert login(client).status_code == 429
    response = register(client, "bob")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "9"


def test_register_is_limited(limited: Callable[..., Flask]) -> None:
    app = limited()
    client = app.test_client()
    statuses = [client.post("/api/auth/local/register", json={}).status_code for _ in range(10)]
    assert statuses == [400] * 10
    assert_limited(register(client), 10)
    assert sessions(app) == 0


def test_change_password_is_limited(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    token = register(client, environ_base=OTHER_IP).get_json()["jwt"]
    wrong = {"currentPassword": "nope-nope", "password": "newpass99"}
    wrong["passwordConfirmation"] = wrong["password"]
    for _ in range(10):
        response = client.post("/api/auth/change-password", json=wrong, headers=bearer(token))
        assert response.status_code == 400
    right = {**wrong, "currentPassword": "secret123"}
    assert_limited(client.post("/api/auth/change-password", json=right, headers=bearer(token)), 10)
    # the password did not change
    assert login(client, environ_base=OTHER_IP).status_code == 200


def test_refresh_logout_and_me_are_not_limited(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    first = register(client).get_json()
    for _ in range(15):
        refused = client.post("/api/auth/refresh", json={"refreshToken": "garbage"})
        assert refused.status_code == 401
        assert not any(h in refused.headers for h in HEADERS)
        me = client.get("/api/users/me", headers=bearer(first["jwt"]))
        assert me.status_code == 200
        assert not any(h in me.headers for h in HEADERS)
        out = client.post(
            "/api/auth/logout", json={"deviceId": "elsewhere"}, headers=bearer(first["jwt"])
        )
        assert out.status_code == 200
        assert not any(h in out.headers for h in HEADERS)


def test_up_limit_is_configurable(limited: Callable[..., Flask]) -> None:
    client = limited(UP_RATELIMIT_MAX=3, UP_RATELIMIT_WINDOW="2m").test_client()
    assert [r.status_code for r in fail_login(client, 3)] == [400] * 3
    retry_after = assert_limited(login(client), 3)
    assert 60 < retry_after <= 121  # the two-minute window, not the default minute


def test_limits_can_be_disabled(make_app: Callable[..., Flask]) -> None:
    client = make_app(UP_RATELIMIT_ENABLED=False, ADMIN_RATELIMIT_ENABLED=False).test_client()
    register(client)
    register_admin(client)
    for response in [
        *fail_login(client, 15),
        *[admin_login(client, password="x") for _ in range(8)],
    ]:
        assert response.status_code == 400
        assert not any(h in response.headers for h in HEADERS)


# -- admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(limited: Callable[..., Flask]) -> FlaskClient:
    client = limited().test_client()
    # register-admin counts against its own route only
    assert register_admin(client).status_code == 200
    return client


def test_admin_login_allows_five_per_five_minutes(admin_client: FlaskClient) -> None:
    responses = [admin_login(admin_client, password="Wrong1234") for _ in range(5)]
    assert [r.status_code for r in responses] == [400] * 5
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["4", "3", "2", "1", "0"]
    retry_after = assert_limited(admin_login(admin_client), 5)
    assert 60 < retry_after <= 301  # a five-minute window


def test_admin_limit_ignores_email_case(admin_client: FlaskClient) -> None:
    for _ in range(5):
        admin_login(admin_client, password="Wrong1234")
    assert_limited(admin_login(admin_client, email="ADA@Example.COM"), 5)


def test_admin_limit_is_per_email(admin_client: FlaskClient) -> None:
    for _ in range(5):
        admin_login(admin_client, password="Wrong1234")
    other = admin_login(admin_client, email="someone@example.com")
    assert other.status_code == 400
    assert other.headers["X-RateLimit-Remaining"] == "4"


def test_admin_limit_is_per_ip(admin_client: FlaskClient) -> None:
    for _ in range(5):
        admin_login(admin_client, password="Wrong1234")
    assert admin_login(admin_client).status_code == 429
    elsewhere = admin_client.post(
        "/admin/login",
        json={"email": "ada@example.com", "password": "Secret123"},
        environ_base=OTHER_IP,
    )
    assert elsewhere.status_code == 200


def test_register_admin_is_limited(limited: Callable[..., Flask]) -> None:
    client = limited().test_client()
    weak = {"email": "ada@example.com", "firstname": "Ada", "password": "weak"}
    for _ in range(5):
        assert client.post("/admin/register-admin", json=weak).status_code == 400
    assert_limited(register_admin(client), 5)
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is False


def test_admin_limit_is_configurable(limited: Callable[..., Flask]) -> None:
    client = limited(ADMIN_RATELIMIT_MAX=2, ADMIN_RATELIMIT_WINDOW=30).test_client()
    register_admin(client)
    for _ in range(2):
        assert admin_login(client, password="Wrong1234").status_code == 400
    retry_after = assert_limited(admin_login(client), 2)
    assert retry_after <= 31


def test_every_answer_of_a_limited_route_carries_the_headers(
    limited: Callable[..., Flask],
) -> None:
    """Validation errors count and say so, as successes and wrong passwords do."""
    client = limited().test_client()
    first = client.post("/api/auth/local", json={})
    assert first.status_code == 400
    assert first.headers["X-RateLimit-Limit"] == "10"
    assert first.headers["X-RateLimit-Remaining"] == "9"
    second = client.post("/api/auth/local", data="{bad", content_type="application/json")
    assert second.status_code == 400
    assert second.headers["X-RateLimit-Remaining"] == "8"
    unlimited = client.post("/api/auth/refresh", json={})
    assert "X-RateLimit-Limit" not in unlimited.headers
