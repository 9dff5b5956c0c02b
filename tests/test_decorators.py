"""Protecting the app's own views: decorators, ``current_user``, ``current_session``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from sqlalchemy import update

from flask_strapi_sessions import (
    AdminUser,
    ContentUserStore,
    UpUser,
    admin_required,
    authenticate,
    current_session,
    current_user,
    login_required,
)
from tests.support import (
    UNAUTHORIZED,
    FakeClock,
    admin_login,
    bearer,
    error,
    login,
    register,
    register_admin,
)


class RoleStore(ContentUserStore):
    """The bundled users, with a role taken from the username: ``ed…`` are editors."""

    def roles_of(self, user: Any) -> set[str]:
        return {"editor"} if user.username.startswith("ed") else {"reader"}


def add_views(app: Flask, calls: list[str]) -> None:
    """The app's own views; each records that it ran in ``calls``."""

    @app.get("/content")
    @login_required
    def content() -> Any:
        calls.append("content")
        return jsonify(
            username=current_user.username,
            session=current_session.session_id,
            device=current_session.device_id,
        )

    @app.get("/admin-only")
    @login_required(origin="admin")
    def admin_only() -> Any:
        calls.append("admin-only")
        return jsonify(firstname=current_user.firstname, session=current_session.session_id)

    @app.get("/admin-short")
    @admin_required
    def admin_short() -> Any:
        calls.append("admin-short")
        return jsonify(email=current_user.email)

    @app.get("/editors")
    @login_required(roles=["editor", "owner"])
    def editors() -> Any:
        calls.append("editors")
        return jsonify(username=current_user.username)

    @app.get("/admin-editors")
    @login_required(origin="admin", roles=["editor"])
    def admin_editors() -> Any:
        calls.append("admin-editors")
        return jsonify(ok=True)

    @app.route("/preflight", methods=["GET", "OPTIONS"])
    @login_required
    def preflight() -> Any:
        calls.append(request.method)
        if request.method == "OPTIONS":
            return "", 204
        return jsonify(username=current_user.username)

    @app.get("/async")
    @login_required
    async def async_view() -> Any:
        await asyncio.sleep(0)
        calls.append("async")
        return jsonify(username=current_user.username, session=current_session.session_id)

    @app.get("/async-admin")
    @admin_required
    async def async_admin() -> Any:
        await asyncio.sleep(0)
        calls.append("async-admin")
        return jsonify(firstname=current_user.firstname)

    @app.get("/public")
    def public() -> Any:
        calls.append("public")
        before = (bool(current_user), bool(current_session))
        principal = authenticate(optional=True)  # the imperative twin of the decorator
        return jsonify(
            before=before,
            principal=principal is not None,
            after=current_user.username if current_user else None,
        )

    @app.get("/whoami")
    @login_required
    def whoami() -> Any:
        return jsonify(
            username=current_user.username,
            session=getattr(current_session, "session_id", None),
        )


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def build(make_app: Callable[..., Flask], calls: list[str]) -> Callable[..., Flask]:
    """``build(**config)``: an app with the views above and ``RoleStore`` for content users."""

    def factory(**config: Any) -> Flask:
        app = make_app(ext_options={"up_users": RoleStore(UpUser)}, **config)
        add_views(app, calls)
        return app

    return factory


@pytest.fixture
def app(build: Callable[..., Flask]) -> Flask:
    return build()


def content_token(client: FlaskClient, username: str = "alice") -> str:
    token: str = register(client, username).get_json()["jwt"]
    return token


def admin_token(client: FlaskClient) -> str:
    register_admin(client)
    token: str = admin_login(client).get_json()["data"]["token"]
    return token


def refused(response: Any) -> bool:
    return error(response) == UNAUTHORIZED and response.headers["WWW-Authenticate"].startswith(
        "Bearer"
    )


# -- login_required -------------------------------------------------------------------------


def test_login_required_lets_a_content_token_in(client: FlaskClient, calls: list[str]) -> None:
    body = register(client).get_json()
    response = client.get("/content", headers=bearer(body["jwt"]))
    assert response.status_code == 200
    data = response.get_json()
    assert data["username"] == "alice"
    sessions = client.get("/api/auth/sessions", headers=bearer(body["jwt"])).get_json()["data"]
    assert data["session"] == sessions[0]["id"]
    assert data["device"] == sessions[0]["deviceId"]
    assert calls == ["content"]


def test_login_required_without_token(client: FlaskClient, calls: list[str]) -> None:
    assert refused(client.get("/content"))
    assert refused(client.get("/content", headers={"Authorization": "Bearer nonsense"}))
    assert calls == []


def test_login_required_refuses_an_admin_token(client: FlaskClient, calls: list[str]) -> None:
    assert refused(client.get("/content", headers=bearer(admin_token(client))))
    assert calls == []


def test_admin_views_let_an_admin_token_in(client: FlaskClient, calls: list[str]) -> None:
    token = admin_token(client)
    data = client.get("/admin-only", headers=bearer(token)).get_json()
    assert data["firstname"] == "Ada"
    sessions = client.get("/admin/users/me/sessions", headers=bearer(token)).get_json()["data"]
    assert data["session"] == sessions[0]["id"]
    short = client.get("/admin-short", headers=bearer(token))
    assert short.get_json() == {"email": "ada@example.com"}
    assert calls == ["admin-only", "admin-short"]


@pytest.mark.parametrize("path", ["/admin-only", "/admin-short", "/async-admin"])
def test_admin_views_refuse_content_tokens_and_no_token(
    client: FlaskClient, calls: list[str], path: str
) -> None:
    assert refused(client.get(path))
    assert refused(client.get(path, headers=bearer(content_token(client))))
    assert calls == []


# -- roles ----------------------------------------------------------------------------------


def test_roles_refuse_a_user_without_the_role(client: FlaskClient, calls: list[str]) -> None:
    response = client.get("/editors", headers=bearer(content_token(client, "alice")))
    assert error(response) == (403, "ForbiddenError", "Forbidden")
    assert calls == []


def test_roles_admit_a_user_with_one_of_them(client: FlaskClient, calls: list[str]) -> None:
    response = client.get("/editors", headers=bearer(content_token(client, "edna")))
    assert response.status_code == 200
    assert response.get_json() == {"username": "edna"}
    assert calls == ["editors"]


def test_roles_are_checked_after_authentication(client: FlaskClient, calls: list[str]) -> None:
    assert refused(client.get("/editors"))  # 401, not 403, without a token


def test_bundled_admin_model_has_no_roles(client: FlaskClient, calls: list[str]) -> None:
    response = client.get("/admin-editors", headers=bearer(admin_token(client)))
    assert error(response) == (403, "ForbiddenError", "Forbidden")
    assert calls == []


def test_roles_from_a_roles_attribute() -> None:
    """The default ``roles_of`` reads ``user.roles`` (strings or objects) or ``user.role``."""
    store = ContentUserStore()

    class Role:
        def __init__(self, code: str | None = None, name: str | None = None):
            self.code, self.name = code, name

    class WithRoles:
        roles = ["editor", Role(code="owner"), Role(name="Reviewer")]

    class WithRole:
        role = Role(name="authenticated")

    assert store.roles_of(WithRoles()) == {"editor", "owner", "Reviewer"}
    assert store.roles_of(WithRole()) == {"authenticated"}
    assert store.roles_of(object()) == set()


# -- OPTIONS, async ---------------------------------------------------------------------------


def test_options_is_exempt(client: FlaskClient, calls: list[str]) -> None:
    assert client.options("/preflight").status_code == 204
    assert calls == ["OPTIONS"]
    assert refused(client.get("/preflight"))
    assert calls == ["OPTIONS"]


def test_async_view(client: FlaskClient, calls: list[str]) -> None:
    token = content_token(client)
    assert refused(client.get("/async"))
    assert calls == []
    response = client.get("/async", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice"
    assert calls == ["async"]


def test_async_admin_view(client: FlaskClient, calls: list[str]) -> None:
    response = client.get("/async-admin", headers=bearer(admin_token(client)))
    assert response.get_json() == {"firstname": "Ada"}
    assert calls == ["async-admin"]


# -- proxies -----------------------------------------------------------------------------------


def test_proxies_are_empty_on_an_unprotected_view(client: FlaskClient) -> None:
    assert client.get("/public").get_json() == {
        "before": [False, False],
        "principal": False,
        "after": None,
    }


def test_authenticate_optional_fills_the_proxies(client: FlaskClient) -> None:
    token = content_token(client)
    assert client.get("/public", headers=bearer(token)).get_json() == {
        "before": [False, False],
        "principal": True,
        "after": "alice",
    }
    # optional means "no token is fine", not "a bad token is fine"
    assert refused(client.get("/public", headers=bearer(token + "x")))


def test_proxies_in_legacy_mode(build: Callable[..., Flask], calls: list[str]) -> None:
    client = build(UP_JWT_MANAGEMENT="legacy-support").test_client()
    token = content_token(client)
    # a legacy token has no session behind it: current_session is None
    assert client.get("/whoami", headers=bearer(token)).get_json() == {
        "username": "alice",
        "session": None,
    }
    response = client.get("/editors", headers=bearer(content_token(client, "edgar")))
    assert response.get_json() == {"username": "edgar"}
    assert refused(client.get("/editors", headers=bearer(token + "x")))


# -- tokens whose session or user is gone ----------------------------------------------------------


def test_revoked_session_is_refused(client: FlaskClient, calls: list[str]) -> None:
    token = content_token(client)
    assert client.post("/api/auth/logout", json={}, headers=bearer(token)).status_code == 200
    for path in ("/content", "/async", "/editors"):
        assert refused(client.get(path, headers=bearer(token)))
    assert calls == []


def test_revoked_admin_session_is_refused(client: FlaskClient, calls: list[str]) -> None:
    token = admin_token(client)
    assert client.post("/admin/logout", json={}, headers=bearer(token)).status_code == 200
    assert refused(client.get("/admin-only", headers=bearer(token)))
    assert calls == []


def test_idle_expired_session_is_refused(
    build: Callable[..., Flask], clock: FakeClock, calls: list[str]
) -> None:
    client = build(UP_SESSIONS_IDLE_REFRESH_TTL=600, UP_SESSIONS_ACCESS_TTL=3600).test_client()
    token = content_token(client)
    clock.advance(599)
    assert client.get("/content", headers=bearer(token)).status_code == 200
    clock.advance(1)  # the access token is still within its exp; the session is not
    assert refused(client.get("/content", headers=bearer(token)))
    assert calls == ["content"]


def test_idle_expired_admin_session_is_refused(
    build: Callable[..., Flask], clock: FakeClock, calls: list[str]
) -> None:
    client = build(ADMIN_SESSIONS_IDLE_SESSION_TTL=600).test_client()
    token = admin_token(client)  # without rememberMe: the "session" pair, idle 600 s
    clock.advance(599)
    assert client.get("/admin-only", headers=bearer(token)).status_code == 200
    clock.advance(1)  # the access token (1800 s) is still within its exp; the session is not
    assert refused(client.get("/admin-only", headers=bearer(token)))
    assert calls == ["admin-only"]


def test_blocked_user_is_refused(app: Flask, client: FlaskClient, calls: list[str]) -> None:
    token = content_token(client)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(update(UpUser).values(blocked=True))
        db.session.commit()
    assert refused(client.get("/content", headers=bearer(token)))
    assert calls == []


@pytest.mark.parametrize("values", [{"blocked": True}, {"is_active": False}])
def test_blocked_or_inactive_admin_is_refused(
    app: Flask, client: FlaskClient, calls: list[str], values: dict[str, bool]
) -> None:
    token = admin_token(client)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(update(AdminUser).values(**values))
        db.session.commit()
    assert refused(client.get("/admin-only", headers=bearer(token)))
    assert calls == []


def test_deleted_user_is_refused(app: Flask, client: FlaskClient, calls: list[str]) -> None:
    token = content_token(client)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.execute(UpUser.__table__.delete())
        db.session.commit()
    assert refused(client.get("/content", headers=bearer(token)))
    assert calls == []


def test_login_after_logout_works_again(client: FlaskClient, calls: list[str]) -> None:
    token = content_token(client)
    client.post("/api/auth/logout", json={}, headers=bearer(token))
    fresh = login(client).get_json()["jwt"]
    assert client.get("/content", headers=bearer(fresh)).status_code == 200
    assert calls == ["content"]
