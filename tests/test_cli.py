"""The ``flask strapi`` command group, through Flask's CLI test runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from flask_strapi_sessions import StrapiSession
from tests.support import START, FakeClock, admin_login, bearer, login, register, register_admin


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def strapi(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Result:
    return runner.invoke(args=["strapi", *args], input=input)


def session_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sessionId"])


def alive(client: FlaskClient, token: str, path: str = "/api/users/me") -> bool:
    return client.get(path, headers=bearer(token)).status_code == 200


def count_rows(app: Flask) -> int:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        return int(db.session.execute(sa.select(sa.func.count(StrapiSession.id))).scalar_one())


# -- create-admin ------------------------------------------------------------------------------


def test_create_admin(runner: FlaskCliRunner, client: FlaskClient) -> None:
    result = strapi(
        runner,
        "create-admin",
        "--email",
        "Root@Example.com",
        "--firstname",
        "Root",
        "--lastname",
        "Admin",
        "--password",
        "Secret123",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin" in result.output and "<root@example.com>" in result.output
    assert "Secret123" not in result.output
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is True
    answer = admin_login(client, "root@example.com", "Secret123")
    assert answer.status_code == 200
    user = answer.get_json()["data"]["user"]
    assert (user["firstname"], user["lastname"], user["email"]) == (
        "Root",
        "Admin",
        "root@example.com",
    )


def test_create_admin_prompts_for_the_password(runner: FlaskCliRunner, client: FlaskClient) -> None:
    result = strapi(
        runner,
        "create-admin",
        "--email",
        "ada@example.com",
        "--firstname",
        "Ada",
        input="Secret123\nSecret123\n",
    )
    assert result.exit_code == 0, result.output
    assert "Secret123" not in result.output  # hidden input is not echoed
    assert admin_login(client).status_code == 200


def test_create_admin_prompt_confirmation_must_match(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = strapi(
        runner,
        "create-admin",
        "--email",
        "ada@example.com",
        "--firstname",
        "Ada",
        input="Secret123\nSecret124\n",
    )
    assert result.exit_code != 0
    assert "Error: The two entered values do not match" in result.output
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is False


def test_create_admin_refuses_a_duplicate(runner: FlaskCliRunner, client: FlaskClient) -> None:
    register_admin(client, "ada@example.com")
    result = strapi(
        runner,
        "create-admin",
        "--email",
        "ADA@example.com",
        "--firstname",
        "Ada",
        "--password",
        "Another123",
    )
    assert result.exit_code == 1
    assert "Error: an admin with e-mail 'ADA@example.com' already exists" in result.output
    assert admin_login(client, password="Secret123").status_code == 200  # untouched
    assert admin_login(client, password="Another123").status_code == 400


def test_create_admin_refuses_a_short_password(runner: FlaskCliRunner, client: FlaskClient) -> None:
    result = strapi(
        runner,
        "create-admin",
        "--email",
        "ada@example.com",
        "--firstname",
        "Ada",
        "--password",
        "Short1",
    )
    assert result.exit_code == 2
    assert "Invalid value for --password: must be at least 8 characters" in result.output
    assert "Short1" not in result.output
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is False


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        ((), "--email"),
        (("--email", "ada@example.com"), "--firstname"),
    ],
)
def test_create_admin_without_required_options(
    runner: FlaskCliRunner, args: tuple[str, ...], missing: str
) -> None:
    result = strapi(runner, "create-admin", *args)
    assert result.exit_code == 2
    assert f"Missing option '{missing}'" in result.output


# -- sessions ----------------------------------------------------------------------------------


def _alice_on_two_devices(client: FlaskClient, clock: FakeClock) -> tuple[str, list[str]]:
    first = register(client).get_json()
    clock.advance(60)
    second = login(client, body={"deviceId": "phone"}).get_json()
    return str(first["user"]["id"]), [first["jwt"], second["jwt"]]


def test_sessions_list(runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock) -> None:
    user_id, tokens = _alice_on_two_devices(client, clock)
    result = strapi(runner, "sessions", "list", "--user", user_id)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [session_id(t) for t in reversed(tokens)]
    assert "device=phone" in lines[0]
    assert "type=refresh" in lines[0]
    assert "login=2027-01-15T08:01:00.000Z" in lines[0]


def test_sessions_list_admin_origin(runner: FlaskCliRunner, client: FlaskClient) -> None:
    register_admin(client)
    token = admin_login(client, rememberMe=True).get_json()["data"]["token"]
    user_id = str(jwt.decode(token, options={"verify_signature": False})["userId"])
    result = strapi(runner, "sessions", "list", "--origin", "admin", "--user", user_id)
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 2  # register-admin and login
    assert session_id(token) in result.output
    content = strapi(runner, "sessions", "list", "--user", user_id)
    assert content.output == "No live sessions.\n"


def test_sessions_list_needs_a_user(runner: FlaskCliRunner) -> None:
    result = strapi(runner, "sessions", "list")
    assert result.exit_code == 2
    assert "Missing option '--user'" in result.output


def test_sessions_list_refuses_an_unknown_origin(runner: FlaskCliRunner) -> None:
    result = strapi(runner, "sessions", "list", "--origin", "shop", "--user", "1")
    assert result.exit_code == 2
    assert "Invalid value for '--origin'" in result.output


def test_sessions_revoke_by_id(
    runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock
) -> None:
    _user_id, tokens = _alice_on_two_devices(client, clock)
    result = strapi(runner, "sessions", "revoke", session_id(tokens[0]))
    assert (result.exit_code, result.output) == (0, "Revoked 1 session(s).\n")
    assert [alive(client, t) for t in tokens] == [False, True]
    again = strapi(runner, "sessions", "revoke", session_id(tokens[0]), "0" * 32)
    assert again.output == "Revoked 0 session(s).\n"


def test_sessions_revoke_by_user(
    runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock
) -> None:
    user_id, tokens = _alice_on_two_devices(client, clock)
    other = register(client, "bob").get_json()["jwt"]
    result = strapi(runner, "sessions", "revoke", "--user", user_id)
    assert (result.exit_code, result.output) == (0, "Revoked 2 session(s).\n")
    assert [alive(client, t) for t in tokens] == [False, False]
    assert alive(client, other)


def test_sessions_revoke_admin_origin(runner: FlaskCliRunner, client: FlaskClient) -> None:
    register_admin(client)
    token = admin_login(client).get_json()["data"]["token"]
    content = strapi(runner, "sessions", "revoke", session_id(token))
    assert content.output == "Revoked 0 session(s).\n"  # the content API has no such session
    result = strapi(runner, "sessions", "revoke", "--origin", "admin", session_id(token))
    assert result.output == "Revoked 1 session(s).\n"
    assert not alive(client, token, "/admin/users/me")


def test_sessions_revoke_needs_ids_or_user(runner: FlaskCliRunner) -> None:
    result = strapi(runner, "sessions", "revoke")
    assert result.exit_code == 2
    assert "give session ids or --user" in result.output


def test_sessions_commands_in_legacy_mode(make_app: Callable[..., Flask]) -> None:
    runner = make_app(UP_JWT_MANAGEMENT="legacy-support").test_cli_runner()
    result = strapi(runner, "sessions", "list", "--user", "1")
    assert result.exit_code == 1
    assert "Error: 'users-permissions' is in legacy-support mode: it has no sessions" in (
        result.output
    )
    revoke = strapi(runner, "sessions", "revoke", "--user", "1")
    assert (revoke.exit_code, revoke.exception.__class__) == (1, SystemExit)


def test_sessions_commands_on_a_disabled_origin(make_app: Callable[..., Flask]) -> None:
    runner = make_app(ADMIN_ENABLED=False).test_cli_runner()
    result = strapi(runner, "sessions", "revoke", "--origin", "admin", "--user", "1")
    assert result.exit_code == 1
    assert "Error: the 'admin' origin is disabled on this app" in result.output


def test_create_admin_on_a_disabled_admin_origin(make_app: Callable[..., Flask]) -> None:
    runner = make_app(ADMIN_ENABLED=False).test_cli_runner()
    args = ("--email", "ada@example.com", "--firstname", "Ada", "--password", "Secret123")
    result = strapi(runner, "create-admin", *args)
    assert result.exit_code == 1
    assert "Error: the 'admin' origin is disabled on this app (ADMIN_ENABLED)" in result.output


# -- purge, init-db ---------------------------------------------------------------------------


def test_purge(app: Flask, runner: FlaskCliRunner, client: FlaskClient, clock: FakeClock) -> None:
    _alice_on_two_devices(client, clock)
    assert strapi(runner, "purge").output == "Purged 0 session row(s).\n"
    assert count_rows(app) == 2
    clock.now = START + 7 * 86400  # the first session's idle window (7 days) has passed
    assert strapi(runner, "purge").output == "Purged 1 session row(s).\n"
    clock.advance(60)
    result = strapi(runner, "purge", "--batch-size", "1")
    assert (result.exit_code, result.output) == (0, "Purged 1 session row(s).\n")
    assert count_rows(app) == 0


@pytest.mark.parametrize("size", ["0", "-1", "lots"])
def test_purge_refuses_a_bad_batch_size(runner: FlaskCliRunner, size: str) -> None:
    result = strapi(runner, "purge", "--batch-size", size)
    assert result.exit_code == 2
    assert "Invalid value for '--batch-size'" in result.output


def test_init_db_creates_the_tables(app: Flask, runner: FlaskCliRunner) -> None:
    db: Any = app.extensions["sqlalchemy"]
    with app.app_context():
        db.drop_all()
        assert "strapi_sessions" not in sa.inspect(db.engine).get_table_names()
    result = strapi(runner, "init-db")
    assert (result.exit_code, result.output) == (0, "Tables created.\n")
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert {"strapi_sessions", "up_users", "admin_users"} <= tables
    assert register(app.test_client()).status_code == 200


def test_group_help_lists_the_commands(runner: FlaskCliRunner) -> None:
    result = strapi(runner, "--help")
    assert result.exit_code == 0
    for command in ("create-admin", "sessions", "purge", "init-db"):
        assert command in result.output
