"""The admin origin's routes (SPEC §5, admin table): bodies, messages and cookies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from flask_strapi_sessions import StrapiSessions
from flask_strapi_sessions.models import AdminUser, StrapiSession
from tests.support import (
    FAST_HASHER,
    UNAUTHORIZED,
    admin_login,
    bearer,
    error,
    register_admin,
    set_cookies,
)

COOKIE = "strapi_admin_refresh"
PASSWORD = "Secret123"
ADMIN_FIELDS = {
    "id",
    "documentId",
    "firstname",
    "lastname",
    "username",
    "email",
    "isActive",
    "blocked",
    "preferedLanguage",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "locale",
}
INVALID_CREDENTIALS = (400, "ApplicationError", "Invalid credentials")
MISSING_CREDENTIALS = (400, "ApplicationError", "Missing credentials")


def cookie_value(response: TestResponse) -> str | None:
    for header in set_cookies(response):
        key, _, rest = header.partition("=")
        if key == COOKIE:
            return rest.split(";", 1)[0]
    return None


def count(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def session_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sessionId"])


def add_admin(app: Flask, email: str, **fields: Any) -> None:
    """A second admin, straight into the database (register-admin makes only the first)."""
    with app.app_context():
        state = StrapiSessions.state()
        values = {"email": email, "firstname": "Bob", "lastname": None, **fields}
        state.admin.users.create(state.session, values, FAST_HASHER.hash(PASSWORD))
        state.session.commit()


@pytest.fixture
def admin(client: FlaskClient) -> dict[str, Any]:
    """The first admin registered; its answer's ``data``."""
    response = register_admin(client)
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()["data"]
    return data


# -- init and register-admin ---------------------------------------------------------


def test_init_tells_whether_an_admin_exists(client: FlaskClient) -> None:
    before = client.get("/admin/init")
    assert before.get_json() == {
        "data": {"uuid": False, "hasAdmin": False, "menuLogo": None, "authLogo": None}
    }
    register_admin(client)
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is True


def test_register_admin_answers_tokens_user_and_cookie(client: FlaskClient) -> None:
    response = register_admin(client)
    data = response.get_json()["data"]
    assert response.status_code == 200
    assert set(data) == {"token", "accessToken", "user", "deviceId"}
    assert data["token"] == data["accessToken"]
    assert set(data["user"]) == ADMIN_FIELDS | {"roles"}
    assert data["user"]["roles"][0]["code"] == "strapi-super-admin"
    assert data["user"]["email"] == "ada@example.com"
    assert cookie_value(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Secret123" not in response.get_data(as_text=True)
    assert client.get("/admin/users/me", headers=bearer(data["token"])).status_code == 200


def test_register_admin_only_once(app: Flask, client: FlaskClient, admin: dict[str, Any]) -> None:
    sessions = count(app, StrapiSession)
    second = register_admin(client, email="eve@example.com")
    assert error(second) == (400, "ApplicationError", "You cannot register a new super admin")
    assert set_cookies(second) == []
    assert count(app, AdminUser) == 1
    assert count(app, StrapiSession) == sessions


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt", "password must be at least 8 characters"),
        (
            "alllowercase1",
            "password must contain a lower-case letter, an upper-case letter and a number",
        ),
        (
            "ALLUPPERCASE1",
            "password must contain a lower-case letter, an upper-case letter and a number",
        ),
        (
            "NoDigitsHere",
            "password must contain a lower-case letter, an upper-case letter and a number",
        ),
    ],
)
def test_register_admin_password_policy(
    app: Flask, client: FlaskClient, password: str, message: str
) -> None:
    response = register_admin(client, password=password)
    assert error(response) == (400, "ValidationError", message)
    assert count(app, AdminUser) == 0


def test_register_admin_requires_email_firstname_password(app: Flask, client: FlaskClient) -> None:
    response = client.post("/admin/register-admin", json={"lastname": "Admin"})
    assert error(response) == (400, "ValidationError", "3 errors occurred")
    paths = [p["path"] for p in response.get_json()["error"]["details"]["errors"]]
    assert paths == [["email"], ["firstname"], ["password"]]
    assert count(app, AdminUser) == 0


# -- login -------------------------------------------------------------------------------


def test_login_answers_tokens_user_and_cookie(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = admin_login(client, deviceId="laptop-1")
    data = response.get_json()["data"]
    assert response.status_code == 200
    assert set(data) == {"token", "accessToken", "user", "deviceId"}
    assert data["token"] == data["accessToken"]
    assert data["deviceId"] == "laptop-1"
    assert set(data["user"]) == ADMIN_FIELDS
    assert cookie_value(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "password" not in response.get_data(as_text=True).lower()


def test_login_email_is_case_insensitive(client: FlaskClient, admin: dict[str, Any]) -> None:
    assert admin_login(client, email="ADA@Example.com").status_code == 200


def test_unknown_email_and_wrong_password_are_identical(
    client: FlaskClient, admin: dict[str, Any]
) -> None:
    wrong = admin_login(client, password="Wrong1234")
    unknown = admin_login(client, email="nobody@example.com")
    assert error(wrong) == INVALID_CREDENTIALS
    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())
    assert set_cookies(wrong) == set_cookies(unknown) == []


@pytest.mark.parametrize(
    "body",
    [{"email": "ada@example.com"}, {"password": PASSWORD}, {}, {"email": "", "password": ""}],
    ids=["no-password", "no-email", "empty", "empty-strings"],
)
def test_login_missing_credentials(
    client: FlaskClient, admin: dict[str, Any], body: dict[str, str]
) -> None:
    assert error(client.post("/admin/login", json=body)) == MISSING_CREDENTIALS


def test_inactive_admin_cannot_log_in(
    app: Flask, client: FlaskClient, admin: dict[str, Any]
) -> None:
    with app.app_context():
        session = app.extensions["sqlalchemy"].session
        session.execute(update(AdminUser).values(is_active=False))
        session.commit()
    assert error(admin_login(client, password="Wrong1234")) == INVALID_CREDENTIALS
    assert error(admin_login(client)) == (
        400,
        "ApplicationError",
        "Your account has been blocked by an administrator",
    )


# -- access-token ---------------------------------------------------------------------------


def test_access_token_rotates_the_cookie(client: FlaskClient, admin: dict[str, Any]) -> None:
    first = cookie_value(admin_login(client))
    response = client.post("/admin/access-token")
    assert response.status_code == 200
    assert set(response.get_json()) == {"data"}
    assert set(response.get_json()["data"]) == {"token"}
    assert response.headers["Cache-Control"] == "no-store"
    second = cookie_value(response)
    assert second and second != first
    token = response.get_json()["data"]["token"]
    assert client.get("/admin/users/me", headers=bearer(token)).status_code == 200


def test_access_token_reads_only_the_cookie(make_app: Callable[..., Flask]) -> None:
    # no grace: had the body's token been rotated, presenting it again would fail
    app = make_app(ADMIN_SESSIONS_ROTATION_GRACE=0)
    register_admin(app.test_client())
    logged_in = admin_login(app.test_client())
    token = cookie_value(logged_in)
    cookieless = app.test_client()
    response = cookieless.post("/admin/access-token", json={"refreshToken": token})
    assert error(response) == (401, "UnauthorizedError", "Missing refresh token")
    # the token in the body was not consumed
    cookieless.set_cookie(COOKIE, str(token), path="/admin")
    assert cookieless.post("/admin/access-token").status_code == 200


@pytest.mark.parametrize("value", ["bogus", "access"])
def test_access_token_refuses_a_bad_cookie(
    client: FlaskClient, admin: dict[str, Any], value: str
) -> None:
    client.set_cookie(COOKIE, admin["token"] if value == "access" else value, path="/admin")
    response = client.post("/admin/access-token")
    assert error(response) == (401, "UnauthorizedError", "Invalid refresh token")
    assert cookie_value(response) == ""  # told to drop the dead cookie


# -- logout --------------------------------------------------------------------------------


def test_logout_needs_a_bearer_token(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = client.post("/admin/logout", json={})
    assert error(response) == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # the cookie still works: nothing was revoked
    assert client.post("/admin/access-token").status_code == 200


def test_logout_ends_the_session_and_clears_the_cookie(
    client: FlaskClient, admin: dict[str, Any]
) -> None:
    other = admin_login(client.application.test_client()).get_json()["data"]["token"]
    response = client.post("/admin/logout", json={}, headers=bearer(admin["token"]))
    assert response.status_code == 200
    assert response.get_json() == {"data": {}}
    assert cookie_value(response) == ""
    assert error(client.get("/admin/users/me", headers=bearer(admin["token"]))) == UNAUTHORIZED
    # logout without deviceId/scope ends only the current session (SPEC §9.5)
    assert client.get("/admin/users/me", headers=bearer(other)).status_code == 200


def test_logout_scope_all(client: FlaskClient, admin: dict[str, Any]) -> None:
    other = admin_login(client.application.test_client()).get_json()["data"]["token"]
    response = client.post("/admin/logout", json={"scope": "all"}, headers=bearer(admin["token"]))
    assert response.get_json() == {"data": {}}
    assert client.get("/admin/users/me", headers=bearer(other)).status_code == 401


# -- users/me ---------------------------------------------------------------------------------


def test_get_me(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = client.get("/admin/users/me", headers=bearer(admin["token"]))
    assert response.status_code == 200
    assert set(response.get_json()) == {"data"}
    assert set(response.get_json()["data"]) == ADMIN_FIELDS
    assert response.get_json()["data"]["firstname"] == "Ada"
    assert error(client.get("/admin/users/me")) == UNAUTHORIZED


def test_put_me_updates_the_profile(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = client.put(
        "/admin/users/me",
        json={"firstname": "Augusta", "preferedLanguage": "en"},
        headers=bearer(admin["token"]),
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert (data["firstname"], data["preferedLanguage"]) == ("Augusta", "en")
    again = client.get("/admin/users/me", headers=bearer(admin["token"])).get_json()["data"]
    assert again["firstname"] == "Augusta"


def test_put_me_changes_the_password_and_revokes_other_sessions(
    client: FlaskClient, admin: dict[str, Any]
) -> None:
    other = admin_login(client.application.test_client()).get_json()["data"]["token"]
    response = client.put(
        "/admin/users/me",
        json={"currentPassword": PASSWORD, "password": "Newer4567"},
        headers=bearer(admin["token"]),
    )
    assert response.status_code == 200
    assert "Newer4567" not in response.get_data(as_text=True)
    assert client.get("/admin/users/me", headers=bearer(admin["token"])).status_code == 200
    assert client.get("/admin/users/me", headers=bearer(other)).status_code == 401
    assert error(admin_login(client)) == INVALID_CREDENTIALS
    assert admin_login(client, password="Newer4567").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"currentPassword": "Wrong1234", "password": "Newer4567"}, "Current password is invalid"),
        ({"password": "Newer4567"}, "currentPassword is a required field"),
        (
            {"currentPassword": PASSWORD, "password": "weak"},
            "password must be at least 8 characters",
        ),
        ({"isActive": False}, "Invalid parameters: isActive"),
        ({"email": "not-an-email"}, "email must be a valid email"),
    ],
    ids=["wrong-current", "no-current", "weak", "unknown-key", "bad-email"],
)
def test_put_me_errors(
    client: FlaskClient, admin: dict[str, Any], body: dict[str, Any], message: str
) -> None:
    response = client.put("/admin/users/me", json=body, headers=bearer(admin["token"]))
    assert error(response) == (400, "ValidationError", message)
    assert admin_login(client).status_code == 200  # password unchanged


# -- sessions ---------------------------------------------------------------------------------


def test_sessions_list_and_delete(client: FlaskClient, admin: dict[str, Any]) -> None:
    other = admin_login(client.application.test_client(), deviceId="tablet").get_json()["data"]
    response = client.get("/admin/users/me/sessions", headers=bearer(admin["token"]))
    items = response.get_json()["data"]
    assert response.status_code == 200
    assert [item["current"] for item in items] == [True, False]
    assert items[0]["id"] == session_id(admin["token"])
    assert items[1]["deviceId"] == "tablet"
    for item in items:
        assert set(item) == {"id", "deviceId", "deviceName", "current", "loginAt", "lastActiveAt"}

    deleted = client.delete(
        f"/admin/users/me/sessions/{session_id(other['token'])}", headers=bearer(admin["token"])
    )
    assert deleted.get_json() == {"data": {}}
    assert client.get("/admin/users/me", headers=bearer(other["token"])).status_code == 401
    again = client.delete(
        f"/admin/users/me/sessions/{session_id(other['token'])}", headers=bearer(admin["token"])
    )
    assert error(again) == (404, "NotFoundError", "Session not found")


def test_another_admins_session_is_not_found(
    app: Flask, client: FlaskClient, admin: dict[str, Any]
) -> None:
    add_admin(app, "bob@example.com")
    bob = admin_login(app.test_client(), email="bob@example.com").get_json()["data"]["token"]
    response = client.delete(
        f"/admin/users/me/sessions/{session_id(bob)}", headers=bearer(admin["token"])
    )
    assert error(response) == (404, "NotFoundError", "Session not found")
    assert client.get("/admin/users/me", headers=bearer(bob)).status_code == 200
    listed = client.get("/admin/users/me/sessions", headers=bearer(bob)).get_json()["data"]
    assert [item["id"] for item in listed] == [session_id(bob)]


def test_sessions_need_a_token(client: FlaskClient) -> None:
    assert error(client.get("/admin/users/me/sessions")) == UNAUTHORIZED
    assert error(client.delete("/admin/users/me/sessions/abc")) == UNAUTHORIZED


def test_renew_token_is_not_a_route(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = client.post("/admin/renew-token", json={"token": admin["token"]})
    assert response.status_code in (404, 405)
    assert admin["token"] not in response.get_data(as_text=True)
    assert set_cookies(response) == []


def test_racing_register_admin_lets_exactly_one_in(
    make_app: Callable[..., Flask], database: Any
) -> None:
    """Two first-admin registrations at once: one 200, one refusal, one admin row."""
    import threading

    app = make_app()
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def attempt(email: str) -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(register_admin(client, email=email).status_code)

    threads = [threading.Thread(target=attempt, args=(f"{n}@example.com",)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 400]
    with app.app_context():
        admins = app.extensions["sqlalchemy"].session.execute(select(func.count(AdminUser.id)))
        assert admins.scalar_one() == 1


def test_prefered_language_longer_than_its_column_is_a_400(client: FlaskClient) -> None:
    token = register_admin(client).get_json()["data"]["token"]
    response = client.put(
        "/admin/users/me", json={"preferedLanguage": "x" * 33}, headers=bearer(token)
    )
    assert error(response)[0:2] == (400, "ValidationError")
    ok = client.put("/admin/users/me", json={"preferedLanguage": "x" * 32}, headers=bearer(token))
    assert ok.get_json()["data"]["preferedLanguage"] == "x" * 32


def test_remember_me_null_means_a_browser_session(client: FlaskClient) -> None:
    register_admin(client)
    response = admin_login(client, rememberMe=None)
    assert response.status_code == 200
    cookie = next(c for c in set_cookies(response) if c.startswith("strapi_admin_refresh="))
    assert "Expires" not in cookie and "Max-Age" not in cookie
