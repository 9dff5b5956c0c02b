"""The request guard's fast path: one query per request, and no check left out to get there.

Two apps on the same database stand for two workers: what one revokes, blocks or deletes,
the other refuses on its very next request (the default mode caches nothing of the
session or user between requests). Views of the app's own read ``current_user`` /
``current_session``, loaded on demand.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify
from flask.testing import FlaskClient

from flask_strapi_sessions import (
    AdminUser,
    ContentUserStore,
    StrapiSession,
    UpUser,
    current_session,
    current_user,
    login_required,
    tokens,
)
from flask_strapi_sessions.session_cache import BoundedDict
from flask_strapi_sessions.session_check import user_columns
from tests.support import (
    UNAUTHORIZED,
    UP_SECRET,
    FakeClock,
    TestDatabase,
    admin_login,
    bearer,
    build_app,
    error,
    login,
    register,
    register_admin,
)


def add_views(app: Flask) -> None:
    """An app's own protected views: one that reads nothing, one that reads the proxies."""

    @app.get("/private")
    @login_required
    def private() -> Any:
        return jsonify(ok=True)

    @app.get("/private-admin")
    @login_required(origin="admin")
    def private_admin() -> Any:
        return jsonify(ok=True)

    @app.get("/whoami")
    @login_required
    def whoami() -> Any:
        return jsonify(
            username=current_user.username,
            session=current_session.session_id,
            device=current_session.device_id,
        )


@pytest.fixture
def worker(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """``worker(**config)``: an app with the views above; two of them share the database."""

    def build(**config: Any) -> Flask:
        app = make_app(**config)
        add_views(app)
        return app

    return build


def statements(app: Flask) -> list[str]:
    """Every SQL statement the app's engine runs from now on."""
    seen: list[str] = []
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen


def content_token(client: FlaskClient, username: str = "alice") -> str:
    register(client, username)
    token: str = login(client, username).get_json()["jwt"]
    return token


def admin_token(client: FlaskClient) -> str:
    register_admin(client)
    token: str = admin_login(client).get_json()["data"]["token"]
    return token


def run_sql(app: Flask, statement: Any) -> None:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(statement)
        db.session.commit()


def test_a_protected_request_runs_exactly_one_statement(worker: Callable[..., Flask]) -> None:
    app = worker()
    client = app.test_client()
    token = content_token(client)
    seen = statements(app)
    for _ in range(3):
        assert client.get("/private", headers=bearer(token)).status_code == 200
    assert len(seen) == 3
    assert all("strapi_sessions" in sql and "up_users" in sql for sql in seen)


def test_logout_on_another_worker_is_refused_on_the_next_request(
    worker: Callable[..., Flask],
) -> None:
    first, second = worker(), worker()
    token = content_token(first.test_client())
    assert first.test_client().get("/private", headers=bearer(token)).status_code == 200
    assert second.test_client().post("/api/auth/logout", headers=bearer(token)).status_code == 200
    assert error(first.test_client().get("/private", headers=bearer(token))) == UNAUTHORIZED


def test_admin_logout_on_another_worker_is_refused_on_the_next_request(
    worker: Callable[..., Flask],
) -> None:
    first, second = worker(), worker()
    token = admin_token(first.test_client())
    assert first.test_client().get("/private-admin", headers=bearer(token)).status_code == 200
    assert second.test_client().post("/admin/logout", headers=bearer(token)).status_code == 200
    assert error(first.test_client().get("/private-admin", headers=bearer(token))) == UNAUTHORIZED


@pytest.mark.parametrize(
    "change",
    [
        sa.update(UpUser).values(blocked=True),
        sa.delete(UpUser),
    ],
    ids=["blocked", "deleted"],
)
def test_a_user_blocked_or_deleted_elsewhere_is_refused_on_the_next_request(
    worker: Callable[..., Flask], change: Any
) -> None:
    first, second = worker(), worker()
    token = content_token(first.test_client())
    assert first.test_client().get("/private", headers=bearer(token)).status_code == 200
    run_sql(second, change)
    assert error(first.test_client().get("/private", headers=bearer(token))) == UNAUTHORIZED


@pytest.mark.parametrize("column", ["is_active", "blocked"])
def test_an_admin_deactivated_or_blocked_elsewhere_is_refused(
    worker: Callable[..., Flask], column: str
) -> None:
    first, second = worker(), worker()
    token = admin_token(first.test_client())
    assert first.test_client().get("/private-admin", headers=bearer(token)).status_code == 200
    run_sql(second, sa.update(AdminUser).values({column: column == "blocked"}))
    assert error(first.test_client().get("/private-admin", headers=bearer(token))) == UNAUTHORIZED


def test_a_genuine_token_naming_another_users_session_is_refused(
    worker: Callable[..., Flask], clock: FakeClock
) -> None:
    app = worker()
    client = app.test_client()
    alice = content_token(client, "alice")
    content_token(client, "bob")
    claims = tokens.verify_jwt(
        alice, UP_SECRET, kind="access", audience="users-permissions", now=clock()
    )
    with app.app_context():
        bob_id = app.extensions["sqlalchemy"].session.scalar(
            sa.select(UpUser.id).where(UpUser.username == "bob")
        )
    forged = tokens.sign_access(
        UP_SECRET,
        user_id=str(bob_id),
        session_id=str(claims.session_id),
        audience="users-permissions",
        now=int(clock()),
        expires_at=int(clock()) + 60,
    )
    assert error(client.get("/private", headers=bearer(forged))) == UNAUTHORIZED


def test_only_the_issued_spelling_of_a_signature_is_accepted(worker: Callable[..., Flask]) -> None:
    app = worker()
    client = app.test_client()
    token = content_token(client)
    signed, signature = token.rsplit(".", 1)
    # 32 bytes make 43 base64url characters; the last one has 2 bits to spare
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    spare = alphabet[alphabet.index(signature[-1]) ^ 1]
    variants = [signature + "=", signature[:-1] + spare, signature[:20] + "!" + signature[20:]]
    assert client.get("/private", headers=bearer(token)).status_code == 200
    for variant in variants:
        answer = client.get("/private", headers=bearer(f"{signed}.{variant}"))
        assert error(answer) == UNAUTHORIZED, variant


def test_a_token_verified_before_is_still_refused_once_expired(
    worker: Callable[..., Flask], clock: FakeClock
) -> None:
    app = worker(UP_SESSIONS_ACCESS_TTL=60)
    client = app.test_client()
    token = content_token(client)
    assert client.get("/private", headers=bearer(token)).status_code == 200
    clock.advance(59)
    assert client.get("/private", headers=bearer(token)).status_code == 200
    clock.advance(1)
    assert error(client.get("/private", headers=bearer(token))) == UNAUTHORIZED


def test_the_proxies_are_loaded_on_demand(worker: Callable[..., Flask]) -> None:
    app = worker()
    client = app.test_client()
    register(client, "alice")
    answer = login(client, "alice", body={"deviceId": "laptop-1"}).get_json()
    seen = statements(app)
    body = client.get("/whoami", headers=bearer(answer["jwt"])).get_json()
    # the check, then one load each for current_user and current_session
    assert len(seen) == 3
    assert body["username"] == "alice"
    assert body["device"] == "laptop-1"
    with app.app_context():
        stored = app.extensions["sqlalchemy"].session.scalar(
            sa.select(StrapiSession.session_id).where(StrapiSession.device_id == "laptop-1")
        )
    assert body["session"] == stored


def test_a_session_purged_between_the_check_and_its_first_use_is_refused(
    worker: Callable[..., Flask],
) -> None:
    app = worker()

    @app.get("/purge-me")
    @login_required
    def purge_me() -> Any:
        run_sql(app, sa.delete(StrapiSession))
        return jsonify(session=current_session.session_id)

    client = app.test_client()
    token = content_token(client)
    assert error(client.get("/purge-me", headers=bearer(token))) == UNAUTHORIZED


def test_a_user_removed_between_the_check_and_its_first_use_is_refused(
    worker: Callable[..., Flask],
) -> None:
    app = worker()

    @app.get("/remove-me")
    @login_required
    def remove_me() -> Any:
        run_sql(app, sa.delete(UpUser))
        return jsonify(name=current_user.username)

    client = app.test_client()
    token = content_token(client)
    assert error(client.get("/remove-me", headers=bearer(token))) == UNAUTHORIZED


class LevelStore(ContentUserStore):
    """A store that judges users on more than the flags: a list of suspended usernames."""

    def __init__(self) -> None:
        super().__init__()
        self.suspended: set[str] = set()

    def is_active(self, user: Any) -> bool:
        return super().is_active(user) and user.username not in self.suspended


@pytest.fixture
def custom_app(database: TestDatabase, clock: FakeClock) -> Iterator[Flask]:
    app = build_app(database, clock, {}, ext_options={"up_users": LevelStore()})
    add_views(app)
    yield app
    with app.app_context():
        app.extensions["sqlalchemy"].session.remove()
        app.extensions["sqlalchemy"].engine.dispose()


def test_an_overridden_is_active_is_never_bypassed(custom_app: Flask) -> None:
    client = custom_app.test_client()
    token = content_token(client, "ann")
    assert client.get("/private", headers=bearer(token)).status_code == 200
    custom_app.extensions["strapi_sessions"].up.users.suspended.add("ann")
    assert error(client.get("/private", headers=bearer(token))) == UNAUTHORIZED


def test_only_stores_keeping_the_inherited_checks_are_judged_in_sql() -> None:
    assert user_columns(ContentUserStore()) is not None
    assert user_columns(LevelStore()) is None


def test_an_in_memory_database_is_checked_through_the_apps_session(
    worker: Callable[..., Flask],
) -> None:
    app = worker(SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.app_context():
        app.extensions["sqlalchemy"].create_all()
    client = app.test_client()
    token = content_token(client)
    assert client.get("/whoami", headers=bearer(token)).get_json()["username"] == "alice"
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 200
    assert error(client.get("/private", headers=bearer(token))) == UNAUTHORIZED


def test_a_database_error_in_the_check_answers_503_and_the_pool_recovers(
    worker: Callable[..., Flask],
) -> None:
    app = worker()
    client = app.test_client()
    token = content_token(client)
    run_sql(app, sa.text("DROP TABLE strapi_sessions"))
    try:
        answer = client.get("/private", headers=bearer(token))
        assert error(answer)[:2] == (503, "ServiceUnavailableError")
    finally:
        with app.app_context():
            app.extensions["sqlalchemy"].create_all()
    fresh = login(client).get_json()["jwt"]
    assert client.get("/private", headers=bearer(fresh)).status_code == 200
    assert client.post("/api/auth/logout", headers=bearer(fresh)).status_code == 200
    assert error(client.get("/private", headers=bearer(fresh))) == UNAUTHORIZED


def test_the_verified_token_cache_stays_bounded() -> None:
    cache: BoundedDict[str, int] = BoundedDict(max_entries=3)
    for number in range(10):
        cache.put(f"token-{number}", number)
        assert len(cache) <= 3
    assert cache["token-9"] == 9
