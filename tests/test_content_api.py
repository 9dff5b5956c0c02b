"""The content API's routes (SPEC §5, Users & Permissions) in refresh and legacy-support mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from flask_strapi_sessions import PasswordHasher
from flask_strapi_sessions.models import StrapiSession, UpUser
from tests.support import (
    INVALID_LOGIN,
    INVALID_REFRESH,
    MISSING_REFRESH,
    FakeClock,
    TestDatabase,
    admin_login,
    bearer,
    build_app,
    error,
    login,
    register,
    register_admin,
    set_cookies,
)

COOKIE = "strapi_up_refresh"
USER_FIELDS = {
    "id",
    "documentId",
    "username",
    "email",
    "provider",
    "confirmed",
    "blocked",
    "createdAt",
    "updatedAt",
    "publishedAt",
}
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
CURL = "curl/8.5.0"


def cookie_value(response: TestResponse, name: str = COOKIE) -> str | None:
    for header in set_cookies(response):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


def change_password(client: FlaskClient, jwt_: str, **extra: Any) -> TestResponse:
    body = {"currentPassword": "secret123", "password": "newpass99"}
    body["passwordConfirmation"] = body["password"]
    return client.post("/api/auth/change-password", json=body, headers={**bearer(jwt_), **extra})


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def block(app: Flask, username: str) -> None:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        session.execute(update(UpUser).where(UpUser.username == username).values(blocked=True))
        session.commit()


# -- login -----------------------------------------------------------------------------


def test_login_answers_jwt_refresh_token_and_public_user(client: FlaskClient) -> None:
    register(client)
    response = login(client)
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"jwt", "refreshToken", "user", "deviceId"}
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["username"] == "alice"
    assert body["user"]["email"] == "alice@example.com"
    assert "password" not in response.get_data(as_text=True).lower()
    assert response.headers["Cache-Control"] == "no-store"
    assert set_cookies(response) == []  # body mode: no cookie


def test_login_by_email_in_any_case(client: FlaskClient) -> None:
    register(client)
    response = login(client, "ALICE@Example.COM")
    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "alice"


def test_login_by_username_is_exact(client: FlaskClient) -> None:
    register(client)
    assert login(client, "alice").status_code == 200
    assert error(login(client, "ALICE")) == INVALID_LOGIN
    assert error(login(client, "alice ")) == INVALID_LOGIN


def test_login_with_form_urlencoded_body(client: FlaskClient) -> None:
    register(client)
    response = client.post("/api/auth/local", data={"identifier": "alice", "password": "secret123"})
    assert response.status_code == 200
    assert set(response.get_json()) == {"jwt", "refreshToken", "user", "deviceId"}


def test_login_with_empty_object_reports_both_fields(client: FlaskClient) -> None:
    response = client.post("/api/auth/local", json={})
    assert error(response) == (400, "ValidationError", "2 errors occurred")
    problems = response.get_json()["error"]["details"]["errors"]
    assert [p["path"] for p in problems] == [["identifier"], ["password"]]


def test_login_without_password(client: FlaskClient) -> None:
    response = client.post("/api/auth/local", json={"identifier": "alice"})
    assert error(response) == (400, "ValidationError", "password is a required field")


class CountingHasher(PasswordHasher):
    """A cheap hasher that counts password verifications."""

    def __init__(self) -> None:
        super().__init__(memory_cost=64, time_cost=1, parallelism=1)
        self.verifications = 0

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


@pytest.fixture
def counting_app(
    database: TestDatabase, clock: FakeClock
) -> Iterator[tuple[Flask, CountingHasher]]:
    hasher = CountingHasher()
    app = build_app(
        database,
        clock,
        {"UP_JWT_MANAGEMENT": "refresh"},
        ext_options={"password_hasher": hasher},
    )
    yield app, hasher
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        app.extensions["sqlalchemy"].engine.dispose()


def test_unknown_user_and_wrong_password_are_indistinguishable(
    counting_app: tuple[Flask, CountingHasher],
) -> None:
    app, hasher = counting_app
    client = app.test_client()
    register(client)

    hasher.verifications = 0
    wrong = login(client, "alice", "not-the-password")
    wrong_hashes = hasher.verifications

    hasher.verifications = 0
    unknown = login(client, "nobody", "not-the-password")
    unknown_hashes = hasher.verifications

    assert error(wrong) == INVALID_LOGIN
    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())
    assert unknown.get_json()["error"]["details"] == {}
    # the unknown user costs a password hash too, so timing tells nothing
    assert wrong_hashes == unknown_hashes == 1


def test_blocked_user_is_told_only_after_the_right_password(
    app: Flask, client: FlaskClient
) -> None:
    register(client)
    block(app, "alice")
    sessions_before = count(app, StrapiSession)
    assert error(login(client, "alice", "wrong-password")) == INVALID_LOGIN
    assert error(login(client)) == (
        400,
        "ApplicationError",
        "Your account has been blocked by an administrator",
    )
    assert count(app, StrapiSession) == sessions_before


# -- register --------------------------------------------------------------------------


def test_register_answers_like_login(client: FlaskClient) -> None:
    response = register(client)
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"jwt", "refreshToken", "user", "deviceId"}
    assert set(body["user"]) == USER_FIELDS
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bob", "email": "ALICE@example.com", "password": "secret123"},
        {"username": "alice", "email": "other@example.com", "password": "secret123"},
    ],
    ids=["email", "username"],
)
def test_register_duplicate_is_refused(
    app: Flask, client: FlaskClient, body: dict[str, str]
) -> None:
    register(client)
    users, rows = count(app, UpUser), count(app, StrapiSession)
    response = client.post("/api/auth/local/register", json=body)
    assert error(response) == (400, "ApplicationError", "Email or Username are already taken")
    assert (count(app, UpUser), count(app, StrapiSession)) == (users, rows)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "bob", "password": "secret123"}, "email is a required field"),
        (
            {"username": "bob", "email": "bob@example.com", "password": "12345"},
            "password must be at least 6 characters",
        ),
        (
            {"username": "bob", "email": "bob@example.com", "password": "secret123", "role": 1},
            "Invalid parameters: role",
        ),
        (
            {"username": "bob", "email": "not-an-email", "password": "secret123"},
            "email must be a valid email",
        ),
        (
            {"username": "bob", "email": "bob@example.com\n", "password": "secret123"},
            "email must be a valid email",
        ),
    ],
    ids=["missing-email", "short-password", "unknown-key", "bad-email", "trailing-newline"],
)
def test_register_validation(
    app: Flask, client: FlaskClient, body: dict[str, Any], message: str
) -> None:
    response = client.post("/api/auth/local/register", json=body)
    assert error(response) == (400, "ValidationError", message)
    assert count(app, UpUser) == 0


# -- cookie mode -------------------------------------------------------------------------


COOKIE_MODES = {
    "config": ({"UP_SESSIONS_HTTPONLY": True}, {}),
    "header": ({}, {"x-strapi-refresh-cookie": "httpOnly"}),
}


@pytest.fixture(params=sorted(COOKIE_MODES))
def cookie_mode(
    request: pytest.FixtureRequest, make_app: Callable[..., Flask]
) -> tuple[FlaskClient, dict[str, str]]:
    """A client in cookie mode, by configuration or by Strapi's request header."""
    config, headers = COOKIE_MODES[request.param]
    return make_app(**config).test_client(), headers


def assert_cookie_only(response: TestResponse, keys: set[str]) -> str:
    """The body has exactly ``keys`` and no refresh token; the token is in the cookie."""
    assert response.status_code == 200, response.get_json()
    assert set(response.get_json()) == keys
    token = cookie_value(response)
    assert token
    assert token not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return token


def test_cookie_mode_never_puts_the_refresh_token_in_a_body(
    cookie_mode: tuple[FlaskClient, dict[str, str]],
) -> None:
    client, headers = cookie_mode
    assert_cookie_only(register(client, headers=headers), {"jwt", "user", "deviceId"})
    first = assert_cookie_only(login(client, headers=headers), {"jwt", "user", "deviceId"})

    refreshed = client.post("/api/auth/refresh", headers=headers)
    second = assert_cookie_only(refreshed, {"jwt"})
    assert second != first

    changed = change_password(client, refreshed.get_json()["jwt"], **headers)
    third = assert_cookie_only(changed, {"jwt", "user", "deviceId"})
    assert third != second
    # the cookie the browser now holds is the live one
    assert client.post("/api/auth/refresh", headers=headers).status_code == 200


def test_refresh_with_cookie_answers_cookie_mode_even_without_the_switch(
    client: FlaskClient,
) -> None:
    register(client)
    token = login(client).get_json()["refreshToken"]
    client.set_cookie(COOKIE, token)
    response = client.post("/api/auth/refresh")
    assert_cookie_only(response, {"jwt"})


def test_cookie_wins_over_body(client: FlaskClient) -> None:
    register(client)
    good = login(client).get_json()["refreshToken"]
    client.set_cookie(COOKIE, "not-a-token")
    assert error(client.post("/api/auth/refresh", json={"refreshToken": good})) == INVALID_REFRESH

    client.set_cookie(COOKIE, good)
    response = client.post("/api/auth/refresh", json={"refreshToken": "garbage"})
    assert response.status_code == 200
    assert set(response.get_json()) == {"jwt"}


def test_empty_cookie_falls_back_to_body(client: FlaskClient) -> None:
    register(client)
    token = login(client).get_json()["refreshToken"]
    client.set_cookie(COOKIE, "")
    assert error(client.post("/api/auth/refresh", json={})) == MISSING_REFRESH
    response = client.post("/api/auth/refresh", json={"refreshToken": token})
    assert response.status_code == 200
    assert set(response.get_json()) == {"jwt", "refreshToken"}


# -- refresh ------------------------------------------------------------------------------


def test_refresh_in_body_mode(client: FlaskClient) -> None:
    first = register(client).get_json()
    response = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"jwt", "refreshToken"}
    assert body["refreshToken"] != first["refreshToken"]
    assert response.headers["Cache-Control"] == "no-store"
    assert set_cookies(response) == []
    assert client.get("/api/users/me", headers=bearer(body["jwt"])).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"refreshToken": ""},
        {"refreshToken": None},
        {"refreshToken": 42},
        {"refreshToken": ["x"]},
        {"refreshToken": {"token": "x"}},
        {"refreshToken": True},
    ],
    ids=["no-body", "empty", "empty-string", "null", "number", "list", "object", "bool"],
)
def test_refresh_without_a_token_string(client: FlaskClient, body: Any) -> None:
    response = client.post("/api/auth/refresh", json=body)
    assert error(response) == MISSING_REFRESH
    assert response.get_json()["error"]["details"] == {}


def test_refresh_refuses_what_is_not_a_live_refresh_token(client: FlaskClient) -> None:
    access = register(client).get_json()["jwt"]
    register_admin(client)
    admin_refresh = cookie_value(admin_login(client), "strapi_admin_refresh")
    assert admin_refresh
    for candidate in ("garbage", access, admin_refresh, "a" * 5000):
        response = client.post("/api/auth/refresh", json={"refreshToken": candidate})
        assert error(response) == INVALID_REFRESH
        assert response.get_json()["error"]["details"] == {}


@pytest.mark.parametrize("authorization", ["valid", "Bearer garbage", "Basic Zm9vOmJhcg=="])
def test_refresh_ignores_the_authorization_header(client: FlaskClient, authorization: str) -> None:
    first = register(client).get_json()
    header = f"Bearer {first['jwt']}" if authorization == "valid" else authorization
    response = client.post(
        "/api/auth/refresh",
        json={"refreshToken": first["refreshToken"]},
        headers={"Authorization": header},
    )
    assert response.status_code == 200
    assert set(response.get_json()) == {"jwt", "refreshToken"}


# -- users/me, logout, change-password -----------------------------------------------------


def test_me_is_the_bare_user_without_secrets(client: FlaskClient) -> None:
    token = register(client).get_json()["jwt"]
    response = client.get("/api/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert set(response.get_json()) == USER_FIELDS
    assert "password" not in response.get_data(as_text=True).lower()
    assert "argon2" not in response.get_data(as_text=True)


def test_me_without_token_is_401(client: FlaskClient) -> None:
    response = client.get("/api/users/me")
    assert error(response) == (401, "UnauthorizedError", "Missing or invalid credentials")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_logout_with_bearer_ends_the_current_session_only(client: FlaskClient) -> None:
    register(client)
    one, two = login(client).get_json(), login(client).get_json()
    response = client.post("/api/auth/logout", json={}, headers=bearer(one["jwt"]))
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert set_cookies(response) == []  # body mode: no cookie to clear
    assert client.get("/api/users/me", headers=bearer(one["jwt"])).status_code == 401
    assert client.get("/api/users/me", headers=bearer(two["jwt"])).status_code == 200


def test_logout_scope_all_and_device(client: FlaskClient) -> None:
    register(client)
    phone = login(client, body={"deviceId": "phone"}).get_json()
    laptop = login(client, body={"deviceId": "laptop"}).get_json()
    other = login(client).get_json()
    out = client.post("/api/auth/logout", json={"deviceId": "phone"}, headers=bearer(other["jwt"]))
    assert out.get_json() == {"ok": True}
    assert client.get("/api/users/me", headers=bearer(phone["jwt"])).status_code == 401
    assert client.get("/api/users/me", headers=bearer(laptop["jwt"])).status_code == 200

    out = client.post("/api/auth/logout", json={"scope": "all"}, headers=bearer(other["jwt"]))
    assert out.get_json() == {"ok": True}
    assert client.get("/api/users/me", headers=bearer(laptop["jwt"])).status_code == 401
    assert client.get("/api/users/me", headers=bearer(other["jwt"])).status_code == 401


def test_logout_with_refresh_cookie_alone_clears_it(make_app: Callable[..., Flask]) -> None:
    client = make_app(UP_SESSIONS_HTTPONLY=True).test_client()
    token = register(client).get_json()["jwt"]
    response = client.post("/api/auth/logout")
    assert response.get_json() == {"ok": True}
    assert cookie_value(response) == ""
    assert client.get("/api/users/me", headers=bearer(token)).status_code == 401


def test_logout_without_any_credential_is_401(client: FlaskClient) -> None:
    assert error(client.post("/api/auth/logout", json={})) == (
        401,
        "UnauthorizedError",
        "Missing or invalid credentials",
    )


def test_change_password_answers_tokens_and_revokes_other_sessions(client: FlaskClient) -> None:
    mine = register(client).get_json()
    other = login(client).get_json()
    response = change_password(client, mine["jwt"])
    body = response.get_json()
    assert response.status_code == 200
    assert set(body) == {"jwt", "refreshToken", "user", "deviceId"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "newpass99" not in response.get_data(as_text=True)
    assert client.get("/api/users/me", headers=bearer(body["jwt"])).status_code == 200
    assert client.get("/api/users/me", headers=bearer(other["jwt"])).status_code == 401
    assert (
        error(client.post("/api/auth/refresh", json={"refreshToken": other["refreshToken"]}))
        == INVALID_REFRESH
    )
    assert login(client, password="newpass99").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "currentPassword": "wrong-one",
                "password": "newpass99",
                "passwordConfirmation": "newpass99",
            },
            "The provided current password is invalid",
        ),
        (
            {
                "currentPassword": "secret123",
                "password": "newpass99",
                "passwordConfirmation": "newpass98",
            },
            "Passwords do not match",
        ),
        (
            {
                "currentPassword": "secret123",
                "password": "newpass99",
                "passwordConfirmation": "newpass99",
                "deviceId": "x",
            },
            "Invalid parameters: deviceId",
        ),
    ],
    ids=["wrong-current", "mismatch", "unknown-key"],
)
def test_change_password_errors(client: FlaskClient, body: dict[str, Any], message: str) -> None:
    token = register(client).get_json()["jwt"]
    response = client.post("/api/auth/change-password", json=body, headers=bearer(token))
    assert error(response) == (400, "ValidationError", message)
    assert login(client).status_code == 200  # the old password still works


def test_change_password_needs_a_token(client: FlaskClient) -> None:
    response = client.post("/api/auth/change-password", json={})
    assert error(response)[0] == 401


# -- sessions --------------------------------------------------------------------------------


def test_sessions_list_shape_and_order(client: FlaskClient, clock: FakeClock) -> None:
    register(client)
    tokens = {}
    for agent in (CHROME_MAC, FIREFOX_LINUX, CURL):
        clock.advance(60)
        tokens[agent] = login(client, headers={"User-Agent": agent}).get_json()["jwt"]
    response = client.get("/api/auth/sessions", headers=bearer(tokens[FIREFOX_LINUX]))
    assert response.status_code == 200
    items = response.get_json()["data"]
    # register's session, then the three logins
    assert len(items) == 4
    for item in items:
        assert set(item) == {"id", "deviceId", "deviceName", "current", "loginAt", "lastActiveAt"}
        assert item["loginAt"].endswith("Z")
    assert [item["current"] for item in items] == [True, False, False, False]
    assert items[0]["deviceName"] == "Firefox on Linux"
    assert (
        items[0]["id"]
        == jwt.decode(tokens[FIREFOX_LINUX], options={"verify_signature": False})["sessionId"]
    )
    # the others by last activity, newest first
    assert [item["deviceName"] for item in items[1:3]] == [None, "Chrome on macOS"]
    assert items[1]["lastActiveAt"] > items[2]["lastActiveAt"] > items[3]["lastActiveAt"]


def test_sessions_list_device_id_is_returned(client: FlaskClient) -> None:
    register(client)
    token = login(client, body={"deviceId": "my-phone"}).get_json()["jwt"]
    items = client.get("/api/auth/sessions", headers=bearer(token)).get_json()["data"]
    assert items[0]["deviceId"] == "my-phone"


def test_login_returns_the_effective_device_id(client: FlaskClient) -> None:
    register(client)
    given = login(client, body={"deviceId": "my-phone"}).get_json()
    assert given["deviceId"] == "my-phone"
    generated = login(client).get_json()
    items = client.get("/api/auth/sessions", headers=bearer(generated["jwt"])).get_json()["data"]
    assert items[0]["current"] and items[0]["deviceId"] == generated["deviceId"]
    assert generated["deviceId"] != "my-phone"


def test_delete_own_session(client: FlaskClient) -> None:
    register(client)
    mine = login(client).get_json()["jwt"]
    other = login(client).get_json()["jwt"]
    other_id = jwt.decode(other, options={"verify_signature": False})["sessionId"]
    response = client.delete(f"/api/auth/sessions/{other_id}", headers=bearer(mine))
    assert response.status_code == 200
    assert response.get_json() == {"data": {}}
    assert client.get("/api/users/me", headers=bearer(other)).status_code == 401
    again = client.delete(f"/api/auth/sessions/{other_id}", headers=bearer(mine))
    assert error(again) == (404, "NotFoundError", "Session not found")


def test_delete_someone_elses_session_is_not_found(client: FlaskClient) -> None:
    alice = register(client).get_json()["jwt"]
    bob = register(client, "bob").get_json()["jwt"]
    bob_id = jwt.decode(bob, options={"verify_signature": False})["sessionId"]
    response = client.delete(f"/api/auth/sessions/{bob_id}", headers=bearer(alice))
    assert error(response) == (404, "NotFoundError", "Session not found")
    assert client.get("/api/users/me", headers=bearer(bob)).status_code == 200


def test_sessions_need_a_token(client: FlaskClient) -> None:
    assert client.get("/api/auth/sessions").status_code == 401
    assert client.delete("/api/auth/sessions/abc").status_code == 401


# -- legacy-support mode ------------------------------------------------------------------------


@pytest.fixture
def legacy(make_app: Callable[..., Flask]) -> tuple[Flask, FlaskClient]:
    app = make_app(UP_JWT_MANAGEMENT="legacy-support")
    return app, app.test_client()


def test_legacy_login_register_and_change_password_answer_jwt_and_user(
    legacy: tuple[Flask, FlaskClient],
) -> None:
    app, client = legacy
    registered = register(client)
    assert set(registered.get_json()) == {"jwt", "user"}
    logged_in = login(client, body={"deviceId": "ignored"})
    assert set(logged_in.get_json()) == {"jwt", "user"}
    token = logged_in.get_json()["jwt"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"id", "iat", "exp"}
    assert client.get("/api/users/me", headers=bearer(token)).get_json()["username"] == "alice"
    changed = change_password(client, token)
    assert set(changed.get_json()) == {"jwt", "user"}
    assert changed.headers["Cache-Control"] == "no-store"
    assert count(app, StrapiSession) == 0  # legacy mode writes no session rows


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/auth/refresh"),
        ("POST", "/api/auth/logout"),
        ("GET", "/api/auth/sessions"),
        ("DELETE", "/api/auth/sessions/abc"),
    ],
)
def test_legacy_mode_has_no_session_routes(
    legacy: tuple[Flask, FlaskClient], method: str, path: str
) -> None:
    _app, client = legacy
    token = register(client).get_json()["jwt"]
    response = client.open(path, method=method, json={}, headers=bearer(token))
    assert error(response) == (404, "NotFoundError", "Not Found")


COOKIE_HEADER = {"x-strapi-refresh-cookie": "httpOnly"}


def test_change_password_with_the_cookie_answers_in_cookie_mode(client: FlaskClient) -> None:
    """A cookie client that forgets the header still gets its new token as a cookie."""
    register(client)
    jwt_ = login(client, headers=COOKIE_HEADER).get_json()["jwt"]
    changed = change_password(client, jwt_)  # the refresh cookie, but no header
    assert changed.status_code == 200
    assert "refreshToken" not in changed.get_json()
    assert cookie_value(changed)
    refreshed = client.post("/api/auth/refresh", json={})
    assert refreshed.status_code == 200  # the browser's cookie is the new token


def test_logout_with_a_spent_refresh_cookie_is_refused(
    client: FlaskClient, clock: FakeClock
) -> None:
    """Outside the grace window an old cookie names no session: 401, nothing revoked."""
    register(client)
    login(client, headers=COOKIE_HEADER)
    spent = client.get_cookie(COOKIE).value  # type: ignore[union-attr]
    client.post("/api/auth/refresh", json={}, headers=COOKIE_HEADER)
    current = client.get_cookie(COOKIE).value  # type: ignore[union-attr]
    clock.advance(11)
    client.set_cookie(COOKIE, spent)
    out = client.post("/api/auth/logout", json={"scope": "all"})
    assert out.status_code == 401
    client.set_cookie(COOKIE, current)
    assert client.post("/api/auth/refresh", json={}).status_code == 200
