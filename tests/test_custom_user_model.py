"""An app's own user model behind the content API (``examples/custom_user.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from examples.custom_user import Member, create_app, db
from flask_strapi_sessions import StrapiSession
from tests.support import (
    FAST_HASHER,
    UP_SECRET,
    FakeClock,
    TestDatabase,
    bearer,
    error,
    login,
    register,
)

FORBIDDEN = {
    "data": None,
    "error": {"status": 403, "name": "ForbiddenError", "message": "Forbidden", "details": {}},
}


@pytest.fixture
def app(database: TestDatabase, clock: FakeClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database.url,
            "JWT_SECRET": UP_SECRET,
            "UP_RATELIMIT_ENABLED": False,
        },
        clock=clock,
        password_hasher=FAST_HASHER,
    )
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def member(app: Flask, handle: str = "alice") -> Member:
    with app.app_context():
        row: Member = db.session.execute(select(Member).where(Member.handle == handle)).scalar_one()
        db.session.expunge(row)
        return row


def update_member(app: Flask, handle: str, **values: Any) -> None:
    with app.app_context():
        row = db.session.execute(select(Member).where(Member.handle == handle)).scalar_one()
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def test_only_the_apps_tables_and_the_session_table(app: Flask) -> None:
    assert {"members", "strapi_sessions"} <= set(db.metadata.tables)
    assert "up_users" not in db.metadata.tables
    assert "admin_users" not in db.metadata.tables
    assert app.extensions["strapi_sessions"].up.users.model is Member


def test_register_creates_a_member(app: Flask, client: FlaskClient) -> None:
    response = register(client, "alice", "secret123")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"jwt", "refreshToken", "user", "deviceId"}
    row = member(app)
    assert body["user"] == {
        "id": row.member_id,
        "username": "alice",
        "email": "alice@example.com",
        "level": "reader",
        "blocked": False,
        "createdAt": body["user"]["createdAt"],
    }
    assert row.email_address == "alice@example.com"
    assert row.secret_hash.startswith("$argon2id$")
    assert row.secret_hash not in response.get_data(as_text=True)
    claims = jwt.decode(body["jwt"], options={"verify_signature": False})
    assert claims["userId"] == str(row.member_id)
    with app.app_context():
        session = db.session.execute(select(StrapiSession)).scalar_one()
        assert session.user_id == str(row.member_id)


def test_duplicate_email_or_handle_is_refused(client: FlaskClient) -> None:
    register(client, "alice")
    body = {"username": "alice2", "email": "ALICE@example.com", "password": "secret123"}
    taken = client.post("/api/auth/local/register", json=body)
    assert error(taken) == (400, "ApplicationError", "Email or Username are already taken")
    body = {"username": "alice", "email": "other@example.com", "password": "secret123"}
    taken = client.post("/api/auth/local/register", json=body)
    assert error(taken) == (400, "ApplicationError", "Email or Username are already taken")


@pytest.mark.parametrize("identifier", ["alice", "alice@example.com", "ALICE@Example.COM"])
def test_login_by_handle_or_email(client: FlaskClient, identifier: str) -> None:
    register(client, "alice")
    response = login(client, identifier)
    assert response.status_code == 200
    me = client.get("/api/users/me", headers=bearer(response.get_json()["jwt"]))
    assert me.get_json()["username"] == "alice"


@pytest.mark.parametrize(("identifier", "password"), [("alice", "wrong-pass"), ("bob", "x")])
def test_failed_login(client: FlaskClient, identifier: str, password: str) -> None:
    register(client, "alice")
    assert error(login(client, identifier, password)) == (
        400,
        "ValidationError",
        "Invalid identifier or password",
    )


def test_refresh_and_sessions_work_on_the_custom_model(client: FlaskClient) -> None:
    first = register(client, "alice").get_json()
    rotated = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert rotated.status_code == 200
    listing = client.get("/api/auth/sessions", headers=bearer(rotated.get_json()["jwt"]))
    [only] = listing.get_json()["data"]
    assert only["current"] is True


def test_roles_come_from_the_member_level(app: Flask, client: FlaskClient) -> None:
    token = register(client, "alice").get_json()["jwt"]
    assert client.get("/api/editor/notes").status_code == 401
    refused = client.get("/api/editor/notes", headers=bearer(token))
    assert (refused.status_code, refused.get_json()) == (403, FORBIDDEN)

    result = app.test_cli_runner().invoke(args=["set-level", "alice", "editor"])
    assert result.exit_code == 0, result.output
    allowed = client.get("/api/editor/notes", headers=bearer(token))
    assert allowed.status_code == 200
    assert allowed.get_json()["editor"] == "alice"


def test_disabled_member_is_locked_out(app: Flask, client: FlaskClient) -> None:
    first = register(client, "alice").get_json()
    update_member(app, "alice", disabled=True)
    assert client.get("/api/users/me", headers=bearer(first["jwt"])).status_code == 401
    refreshed = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert error(refreshed) == (401, "UnauthorizedError", "Invalid refresh token")
    assert error(login(client, "alice")) == (
        400,
        "ApplicationError",
        "Your account has been blocked by an administrator",
    )


def test_deleted_member_is_locked_out(app: Flask, client: FlaskClient) -> None:
    token = register(client, "alice").get_json()["jwt"]
    with app.app_context():
        db.session.delete(db.session.get(Member, member(app).member_id))
        db.session.commit()
    assert client.get("/api/users/me", headers=bearer(token)).status_code == 401


def test_change_password_updates_the_members_hash(app: Flask, client: FlaskClient) -> None:
    first = register(client, "alice", "secret123").get_json()
    other = login(client, "alice", "secret123").get_json()
    before = member(app).secret_hash
    body = {
        "currentPassword": "secret123",
        "password": "newpass456",
        "passwordConfirmation": "newpass456",
    }
    changed = client.post("/api/auth/change-password", json=body, headers=bearer(first["jwt"]))
    assert changed.status_code == 200
    assert member(app).secret_hash != before
    assert login(client, "alice", "secret123").status_code == 400
    assert login(client, "alice", "newpass456").status_code == 200
    assert client.get("/api/users/me", headers=bearer(other["jwt"])).status_code == 401
    fresh = changed.get_json()["jwt"]
    assert client.get("/api/users/me", headers=bearer(fresh)).status_code == 200
