"""The extension object (SPEC §6): init_app, several apps, misuse, prefixes, the Python API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from flask_strapi_sessions import ConfigError, StrapiSessions
from flask_strapi_sessions.state import AppState, get_state
from tests.support import (
    FAST_HASHER,
    FakeClock,
    TestDatabase,
    admin_login,
    base_config,
    bearer,
    error,
    login,
    register,
    register_admin,
)

NewApp = Callable[..., Flask]


@pytest.fixture
def new_app(database: TestDatabase) -> Iterator[NewApp]:
    """``new_app(db, **config)``: a Flask app with ``db`` initialised but no extension yet."""
    made: list[tuple[Flask, SQLAlchemy]] = []

    def factory(db: SQLAlchemy, **config: Any) -> Flask:
        app = Flask("fss_extension_test")
        app.config.update(base_config(database))
        app.config.update(config)
        db.init_app(app)
        made.append((app, db))
        return app

    yield factory
    for app, db in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def empty_tables(app: Flask, db: SQLAlchemy) -> None:
    with app.app_context():
        db.create_all()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


def extension(clock: FakeClock, db: SQLAlchemy | None = None) -> StrapiSessions:
    return StrapiSessions(db=db, clock=clock, password_hasher=FAST_HASHER)


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


# -- registration ----------------------------------------------------------------------------


def test_constructor_with_app_registers_everything(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db)
    ext = StrapiSessions(app, db, clock=clock, password_hasher=FAST_HASHER)
    state = app.extensions["strapi_sessions"]
    assert isinstance(state, AppState)
    assert state.db is db
    assert state.settings.admin.secret == app.config["ADMIN_JWT_SECRET"]
    assert not hasattr(ext, "app")  # the extension never keeps an app
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/admin/login", "/admin/access-token", "/api/auth/local", "/api/users/me"} <= rules
    assert "strapi" in app.cli.commands
    with app.app_context():
        assert get_state() is state
        assert ext.state() is state

    empty_tables(app, db)
    client = app.test_client()
    assert register(client).status_code == 200


def test_factory_init_app(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    ext = extension(clock, db)
    app = new_app(db)
    assert "strapi_sessions" not in app.extensions
    ext.init_app(app)
    assert isinstance(app.extensions["strapi_sessions"], AppState)
    empty_tables(app, db)
    assert register(app.test_client()).status_code == 200


def test_db_can_be_given_to_init_app(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db)
    extension(clock).init_app(app, db)
    assert app.extensions["strapi_sessions"].db is db


def test_one_extension_serves_two_apps_with_their_own_config(
    new_app: NewApp, clock: FakeClock
) -> None:
    db = SQLAlchemy()
    ext = extension(clock, db)
    first = new_app(db, ADMIN_SESSIONS_ACCESS_TTL=600)
    second = new_app(
        db,
        ADMIN_JWT_SECRET="second-admin-secret-0123456789abcdefghijk",
        JWT_SECRET="second-content-secret-0123456789abcdefghi",
        ADMIN_SESSIONS_ACCESS_TTL=1200,
        UP_JWT_MANAGEMENT="legacy-support",
    )
    ext.init_app(first)
    ext.init_app(second)
    empty_tables(first, db)
    one, two = first.test_client(), second.test_client()

    # both apps share the database, not their settings
    register_admin(one)
    token_one = admin_login(one).get_json()["data"]["token"]
    token_two = admin_login(two).get_json()["data"]["token"]
    assert claims_of(token_one)["exp"] - claims_of(token_one)["iat"] == 600
    assert claims_of(token_two)["exp"] - claims_of(token_two)["iat"] == 1200
    assert one.get("/admin/users/me", headers=bearer(token_one)).status_code == 200
    assert two.get("/admin/users/me", headers=bearer(token_two)).status_code == 200
    assert one.get("/admin/users/me", headers=bearer(token_two)).status_code == 401
    assert two.get("/admin/users/me", headers=bearer(token_one)).status_code == 401

    assert set(register(one).get_json()) == {
        "jwt",
        "refreshToken",
        "user",
        "deviceId",
    }  # refresh mode
    legacy = login(two).get_json()
    assert set(legacy) == {"jwt", "user"}  # legacy-support mode
    assert two.get("/api/users/me", headers=bearer(legacy["jwt"])).status_code == 200
    assert one.get("/api/users/me", headers=bearer(legacy["jwt"])).status_code == 401
    assert two.post("/api/auth/refresh", json={"refreshToken": "x"}).status_code == 404


def test_double_registration_is_refused(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db)
    ext = StrapiSessions(app, db, clock=clock)
    state = app.extensions["strapi_sessions"]
    with pytest.raises(RuntimeError, match="already registered on this app: call init_app once"):
        ext.init_app(app)
    with pytest.raises(RuntimeError, match="already registered on this app"):
        StrapiSessions(app, db)
    assert app.extensions["strapi_sessions"] is state


def test_missing_db_is_refused(new_app: NewApp) -> None:
    app = new_app(SQLAlchemy())
    with pytest.raises(RuntimeError, match=r"needs the app's Flask-SQLAlchemy instance.*db=db"):
        StrapiSessions(app)
    assert "strapi_sessions" not in app.extensions


def test_db_not_initialised_on_the_app_is_refused(new_app: NewApp) -> None:
    app = new_app(SQLAlchemy())
    unrelated = Flask("no_sqlalchemy")
    unrelated.config.update(app.config)
    with pytest.raises(RuntimeError, match=r"db.init_app\(app\)"):
        StrapiSessions(unrelated, SQLAlchemy())
    assert "strapi_sessions" not in unrelated.extensions


def test_failed_init_app_leaves_nothing_behind(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db, JWT_SECRET="changeme")
    ext = extension(clock, db)
    with pytest.raises(ConfigError, match=r"^JWT_SECRET="):
        ext.init_app(app)
    assert "strapi_sessions" not in app.extensions
    assert not [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    app.config["JWT_SECRET"] = "a-fixed-content-secret-0123456789abcdefg"
    ext.init_app(app)  # fixing the configuration is enough
    assert app.extensions["strapi_sessions"].settings.up.secret.startswith("a-fixed")


def test_state_lookup_without_init_app_says_what_to_do() -> None:
    app = Flask("bare")
    with (
        app.app_context(),
        pytest.raises(RuntimeError, match=r"not registered.*StrapiSessions\(app, db\)"),
    ):
        get_state()


# -- tables ------------------------------------------------------------------------------------


def test_create_all_creates_the_extension_tables(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db)
    extension(clock, db).init_app(app)
    assert {"strapi_sessions", "up_users", "admin_users"} <= set(db.metadata.tables)
    with app.app_context():
        db.drop_all()
        assert "strapi_sessions" not in sa.inspect(db.engine).get_table_names()
        db.create_all()
        inspector = sa.inspect(db.engine)
        assert {"strapi_sessions", "up_users", "admin_users"} <= set(inspector.get_table_names())
        columns = {c["name"] for c in inspector.get_columns("strapi_sessions")}
        assert {"session_id", "user_id", "origin", "token_hash", "absolute_expires_at"} <= columns


def test_disabled_origin_adds_no_user_table(new_app: NewApp, clock: FakeClock) -> None:
    db = SQLAlchemy()
    app = new_app(db, ADMIN_ENABLED=False)
    extension(clock, db).init_app(app)
    assert "admin_users" not in db.metadata.tables
    assert {"strapi_sessions", "up_users"} <= set(db.metadata.tables)


# -- prefixes and disabled origins ------------------------------------------------------------


def test_configurable_url_prefixes(make_app: Callable[..., Flask]) -> None:
    client = make_app(ADMIN_URL_PREFIX="/backoffice", UP_URL_PREFIX="/content/v1").test_client()
    assert client.post("/api/auth/local/register", json={}).status_code == 404
    assert client.get("/admin/init").status_code == 404

    body = {"username": "alice", "email": "alice@example.com", "password": "secret123"}
    first = client.post("/content/v1/auth/local/register", json=body).get_json()
    assert client.get("/content/v1/users/me", headers=bearer(first["jwt"])).status_code == 200
    refreshed = client.post(
        "/content/v1/auth/refresh", json={"refreshToken": first["refreshToken"]}
    )
    assert refreshed.status_code == 200

    admin = {"email": "ada@example.com", "firstname": "Ada", "password": "Secret123"}
    assert client.post("/backoffice/register-admin", json=admin).status_code == 200
    login_body = {"email": "ada@example.com", "password": "Secret123", "rememberMe": True}
    response = client.post("/backoffice/login", json=login_body)
    assert "Path=/backoffice" in response.headers["Set-Cookie"]
    token = response.get_json()["data"]["token"]
    assert client.get("/backoffice/users/me", headers=bearer(token)).status_code == 200
    # the browser sends the refresh cookie to the moved refresh route
    assert client.post("/backoffice/access-token", json={}).status_code == 200


def test_admin_disabled(make_app: Callable[..., Flask]) -> None:
    client = make_app(ADMIN_ENABLED="false", ADMIN_JWT_SECRET=None).test_client()
    for method, path in [
        ("GET", "/admin/init"),
        ("POST", "/admin/register-admin"),
        ("POST", "/admin/login"),
        ("POST", "/admin/access-token"),
        ("GET", "/admin/users/me"),
    ]:
        assert client.open(path, method=method, json={}).status_code == 404, path
    assert register(client).status_code == 200


def test_content_api_disabled(make_app: Callable[..., Flask]) -> None:
    client = make_app(UP_ENABLED=False).test_client()
    for method, path in [
        ("POST", "/api/auth/local"),
        ("POST", "/api/auth/local/register"),
        ("POST", "/api/auth/refresh"),
        ("GET", "/api/users/me"),
        ("GET", "/api/auth/sessions"),
    ]:
        assert client.open(path, method=method, json={}).status_code == 404, path
    assert register_admin(client).status_code == 200


# -- the programmatic session API ---------------------------------------------------------------


@pytest.fixture
def api_app(new_app: NewApp, clock: FakeClock) -> tuple[Flask, StrapiSessions]:
    db = SQLAlchemy()
    ext = extension(clock, db)
    app = new_app(db)
    ext.init_app(app)
    empty_tables(app, db)
    return app, ext


def _three_sessions(client: FlaskClient, clock: FakeClock) -> tuple[str, list[dict[str, Any]]]:
    """Alice on three devices, the last one most recently used."""
    answers = [register(client).get_json()]
    for device in ("phone", "tablet"):
        clock.advance(10)
        answers.append(login(client, body={"deviceId": device}).get_json())
    return str(answers[0]["user"]["id"]), answers


def _session_id(answer: dict[str, Any]) -> str:
    return str(claims_of(answer["jwt"])["sessionId"])


def _alive(client: FlaskClient, answer: dict[str, Any]) -> bool:
    return client.get("/api/users/me", headers=bearer(answer["jwt"])).status_code == 200


def test_list_sessions(api_app: tuple[Flask, StrapiSessions], clock: FakeClock) -> None:
    app, ext = api_app
    user_id, answers = _three_sessions(app.test_client(), clock)
    with app.app_context():
        rows = ext.list_sessions(user_id)
        assert [row.session_id for row in rows] == [_session_id(a) for a in reversed(answers)]
        assert [row.device_id for row in rows][:2] == ["tablet", "phone"]
        assert [row.session_id for row in ext.list_sessions(int(user_id))] == [
            row.session_id for row in rows
        ]
        assert ext.list_sessions(user_id, origin="admin") == []


def test_revoke_session(api_app: tuple[Flask, StrapiSessions], clock: FakeClock) -> None:
    app, ext = api_app
    client = app.test_client()
    user_id, answers = _three_sessions(client, clock)
    with app.app_context():
        assert ext.revoke_session(_session_id(answers[1])) is True
        assert ext.revoke_session(_session_id(answers[1])) is False  # already revoked
        assert ext.revoke_session("0" * 32) is False
        assert ext.revoke_session(_session_id(answers[0]), origin="admin") is False
        assert len(ext.list_sessions(user_id)) == 2
    assert [_alive(client, a) for a in answers] == [True, False, True]
    refused = client.post("/api/auth/refresh", json={"refreshToken": answers[1]["refreshToken"]})
    assert error(refused) == (401, "UnauthorizedError", "Invalid refresh token")


def test_revoke_others_and_all(api_app: tuple[Flask, StrapiSessions], clock: FakeClock) -> None:
    app, ext = api_app
    client = app.test_client()
    user_id, answers = _three_sessions(client, clock)
    keep = _session_id(answers[2])
    with app.app_context():
        revoked = ext.revoke_others(user_id, keep)
        assert sorted(revoked) == sorted(_session_id(a) for a in answers[:2])
    assert [_alive(client, a) for a in answers] == [False, False, True]
    with app.app_context():
        assert ext.revoke_all(int(user_id)) == [keep]
        assert ext.list_sessions(user_id) == []
        assert ext.revoke_all(user_id) == []
    assert not _alive(client, answers[2])


def test_revoke_all_is_per_origin(api_app: tuple[Flask, StrapiSessions]) -> None:
    app, ext = api_app
    client = app.test_client()
    register_admin(client)
    admin = admin_login(client).get_json()["data"]
    admin_id = str(admin["user"]["id"])
    with app.app_context():
        state = get_state()
        # a content-API session of a user who happens to have the same id
        state.up.sessions.create(state.session, user_id=admin_id, device_id="phone")
        assert len(ext.revoke_all(admin_id, origin="admin")) == 2
        assert [row.device_id for row in ext.list_sessions(admin_id)] == ["phone"]
    assert client.get("/admin/users/me", headers=bearer(admin["token"])).status_code == 401


def test_purge_expired(api_app: tuple[Flask, StrapiSessions], clock: FakeClock) -> None:
    app, ext = api_app
    client = app.test_client()
    user_id, answers = _three_sessions(client, clock)
    with app.app_context():
        ext.revoke_session(_session_id(answers[0]))
        assert ext.purge_expired() == 0  # a fresh revocation is kept for auditing
        clock.advance(8 * 86400)  # past the idle lifespan (7 days) of all three
        assert ext.purge_expired(batch_size=1) == 3
        assert ext.purge_expired() == 0
        db = app.extensions["sqlalchemy"]
        assert db.session.execute(sa.text("SELECT COUNT(*) FROM strapi_sessions")).scalar() == 0
        assert ext.list_sessions(user_id) == []


def test_purge_stops_after_max_batches(
    api_app: tuple[Flask, StrapiSessions], clock: FakeClock
) -> None:
    app, ext = api_app
    _three_sessions(app.test_client(), clock)
    clock.advance(31 * 86400)
    with app.app_context():
        assert ext.purge_expired(batch_size=2, max_batches=1) == 2
        assert ext.purge_expired(batch_size=2) == 1


def test_session_api_refused_in_legacy_mode(make_app: Callable[..., Flask]) -> None:
    app = make_app(UP_JWT_MANAGEMENT="legacy-support")
    with (
        app.app_context(),
        pytest.raises(RuntimeError, match="legacy-support mode: it has no sessions"),
    ):
        StrapiSessions.list_sessions("1")
