"""Password hashing at OWASP strength; hashes and submitted passwords never leave the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import argon2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from flask_strapi_sessions import AdminUser, PasswordHasher, UpUser
from tests.support import (
    FakeClock,
    TestDatabase,
    admin_login,
    bearer,
    build_app,
    dispose_app,
    login,
    register,
    register_admin,
)

# distinctive, and strong enough for both origins' rules
CANARY = "Zq9-canary-Pw-7781"
NEW_CANARY = "Yx8-canary-New-4410"


def text_of(response: TestResponse) -> str:
    """Everything a client sees: status line, headers and body."""
    headers = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
    return f"{response.status}\n{headers}\n{response.get_data(as_text=True)}"


# -- the hasher ----------------------------------------------------------------------------------


def test_default_hasher_is_argon2id_at_owasp_strength() -> None:
    hashed = PasswordHasher().hash("correct horse")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    params = argon2.extract_parameters(hashed)
    assert params.type is argon2.Type.ID
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
    assert params.salt_len >= 16


def test_hashes_are_salted() -> None:
    hasher = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
    assert hasher.hash("same") != hasher.hash("same")


def test_verify() -> None:
    hasher = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
    hashed = hasher.hash("right password")
    assert hasher.verify(hashed, "right password") is True
    assert hasher.verify(hashed, "wrong password") is False
    assert hasher.verify(hashed, "right password ") is False
    assert hasher.verify(hashed, "") is False


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$m=64,t=1,p=1$bad"])
def test_verify_against_a_missing_or_broken_hash_is_false(stored: str | None) -> None:
    hasher = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
    assert hasher.verify(stored, "anything") is False
    hasher.burn("anything")  # the unknown-user path spends the time and raises nothing


def test_the_extension_hashes_with_the_default_hasher(
    database: TestDatabase, clock: FakeClock
) -> None:
    app = build_app(database, clock, {}, ext_options={"password_hasher": None})
    try:
        client = app.test_client()
        assert register(client, password=CANARY).status_code == 200
        with app.app_context():
            db = app.extensions["sqlalchemy"]
            stored = db.session.execute(select(UpUser.password_hash)).scalar_one()
        params = argon2.extract_parameters(stored)
        assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (
            argon2.Type.ID,
            19456,
            2,
            1,
        )
        assert login(client, password=CANARY).status_code == 200
        assert login(client, password=CANARY.lower()).status_code == 400
    finally:
        dispose_app(app)


# -- nothing leaks ---------------------------------------------------------------------------------


@pytest.fixture
def responses() -> list[TestResponse]:
    return []


@pytest.fixture
def recorded(client: FlaskClient, responses: list[TestResponse]) -> Iterator[FlaskClient]:
    """The test client, keeping every response it gets in ``responses``."""
    original = client.open

    def open_and_keep(*args: Any, **kwargs: Any) -> TestResponse:
        response: TestResponse = original(*args, **kwargs)
        responses.append(response)
        return response

    client.open = open_and_keep  # type: ignore[method-assign]
    yield client
    client.open = original  # type: ignore[method-assign]


def _content_api_tour(client: FlaskClient) -> None:
    first = register(client, "alice", CANARY).get_json()
    login(client, "alice", CANARY)
    login(client, "alice@example.com", CANARY, body={"deviceId": "phone"})
    client.get("/api/users/me", headers=bearer(first["jwt"]))
    client.get("/api/auth/sessions", headers=bearer(first["jwt"]))
    client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    changed = client.post(
        "/api/auth/change-password",
        json={
            "currentPassword": CANARY,
            "password": NEW_CANARY,
            "passwordConfirmation": NEW_CANARY,
        },
        headers=bearer(first["jwt"]),
    ).get_json()
    client.post("/api/auth/local", data={"identifier": "alice", "password": NEW_CANARY})
    client.post("/api/auth/logout", json={}, headers=bearer(changed["jwt"]))


def _admin_tour(client: FlaskClient) -> None:
    register_admin(client, "ada@example.com", CANARY)
    data = admin_login(client, "ada@example.com", CANARY, rememberMe=True).get_json()["data"]
    token = data["token"]
    client.get("/admin/init")
    client.get("/admin/users/me", headers=bearer(token))
    client.get("/admin/users/me/sessions", headers=bearer(token))
    client.post("/admin/access-token", json={})
    client.put(
        "/admin/users/me",
        json={"firstname": "Ada", "currentPassword": CANARY, "password": NEW_CANARY},
        headers=bearer(token),
    )
    client.post("/admin/logout", json={}, headers=bearer(token))


def test_password_hashes_never_appear_in_responses(
    app: Flask, recorded: FlaskClient, responses: list[TestResponse]
) -> None:
    _content_api_tour(recorded)
    _admin_tour(recorded)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        hashes = list(db.session.execute(select(UpUser.password_hash)).scalars())
        hashes += list(db.session.execute(select(AdminUser.password_hash)).scalars())
    assert len(hashes) == 2 and all(h and h.startswith("$argon2id$") for h in hashes)
    assert len(responses) > 15
    for response in responses:
        seen = text_of(response)
        assert "$argon2" not in seen, seen
        assert not any(h in seen for h in hashes)
        assert "password" not in seen.lower(), seen


def test_submitted_passwords_are_never_echoed_on_success(
    recorded: FlaskClient, responses: list[TestResponse]
) -> None:
    _content_api_tour(recorded)
    _admin_tour(recorded)
    assert all(r.status_code < 400 for r in responses), [r.status for r in responses]
    for response in responses:
        assert CANARY not in text_of(response)
        assert NEW_CANARY not in text_of(response)


def test_submitted_passwords_are_never_echoed_on_errors(
    recorded: FlaskClient, responses: list[TestResponse]
) -> None:
    client = recorded
    weak = CANARY.lower().replace("9", "x").replace("7781", "")  # no digit, no upper case
    long = CANARY * 20  # longer than 256 characters
    base = {"username": "alice", "email": "alice@example.com"}
    register(client, "alice", CANARY)
    token = login(client, "alice", CANARY).get_json()["jwt"]
    n_ok = len(responses)

    for body in [
        {**base, "email": "not-an-email", "password": CANARY},
        {**base, "password": CANARY},  # already taken
        {**base, "username": "bob", "password": long},
        {**base, "username": "bob", "password": [CANARY]},
        {**base, "username": "bob", "password": CANARY, "role": CANARY},
        {"username": "bob", "password": CANARY},
    ]:
        client.post("/api/auth/local/register", json=body)
    client.post(
        "/api/auth/local/register",
        data=b'{"username": "bob", "password": "' + CANARY.encode() + b'"',
        content_type="application/json",
    )
    client.post("/api/auth/local", json={"identifier": "alice", "password": NEW_CANARY})
    client.post("/api/auth/local", json={"identifier": "nobody", "password": CANARY})
    client.post("/api/auth/local", json={"identifier": "alice", "password": long})
    client.post("/api/auth/local", json={"password": CANARY})
    client.post("/api/auth/local", data={"identifier": "x", "password": CANARY})
    client.post("/api/auth/local", data=CANARY, content_type="text/plain")
    for body in [
        {"currentPassword": NEW_CANARY, "password": CANARY, "passwordConfirmation": CANARY},
        {"currentPassword": CANARY, "password": NEW_CANARY, "passwordConfirmation": CANARY},
        {"currentPassword": CANARY, "password": "abc", "passwordConfirmation": "abc"},
        {"currentPassword": CANARY, "password": NEW_CANARY, "passwordConfirmation": NEW_CANARY},
    ]:
        client.post("/api/auth/change-password", json=body, headers={"Authorization": "Bearer x"})
        client.post(
            "/api/auth/change-password", json={**body, "extra": CANARY}, headers=bearer(token)
        )
    client.post(
        "/api/auth/change-password",
        json={"currentPassword": NEW_CANARY, "password": CANARY, "passwordConfirmation": CANARY},
        headers=bearer(token),
    )
    client.post(
        "/api/auth/change-password",
        json={"currentPassword": CANARY, "password": NEW_CANARY, "passwordConfirmation": CANARY},
        headers=bearer(token),
    )

    admin = {"email": "ada@example.com", "firstname": "Ada"}
    client.post("/admin/register-admin", json={**admin, "password": weak})
    client.post("/admin/register-admin", json={**admin, "email": "bad", "password": CANARY})
    register_admin(client, "ada@example.com", CANARY)
    client.post("/admin/register-admin", json={**admin, "password": NEW_CANARY})  # not first
    admin_login(client, "ada@example.com", NEW_CANARY)
    admin_login(client, "nobody@example.com", CANARY)
    client.post("/admin/login", json={"password": CANARY})
    client.post("/admin/login", json={"email": "ada@example.com", "password": long})
    admin_token = admin_login(client, "ada@example.com", CANARY).get_json()["data"]["token"]
    for body in [
        {"currentPassword": NEW_CANARY, "password": CANARY},
        {"currentPassword": CANARY, "password": weak},
        {"currentPassword": CANARY, "password": NEW_CANARY, "secret": CANARY},
    ]:
        client.put("/admin/users/me", json=body, headers=bearer(admin_token))

    errors = [r for r in responses[n_ok:] if r.status_code >= 400]
    assert len(errors) >= 25
    for response in responses:
        seen = text_of(response)
        assert CANARY not in seen, seen
        assert NEW_CANARY not in seen, seen
        assert weak not in seen, seen
