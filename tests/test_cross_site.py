"""Cross-site requests and CORS for trusted front ends (SPEC §5).

A cookie-authenticated POST sent by another site's page (``Origin`` or
``Sec-Fetch-Site``) is refused before it can rotate or revoke anything, unless that
origin is a configured trusted front end; only JSON bodies are accepted there. Trusted
front ends get CORS with credentials, and nobody else does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from flask_strapi_sessions.models import StrapiSession
from tests.support import admin_login, bearer, error, login, register, register_admin, set_cookies

UP_COOKIE = "strapi_up_refresh"
ADMIN_COOKIE = "strapi_admin_refresh"
EVIL = "https://evil.example"
FRONT_END = "https://app.example"
REFUSED = (403, "ForbiddenError", "Cross-site request refused")
CROSS_SITE = [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}]
SAME_SITE = [
    {},
    {"Origin": "http://localhost"},
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "none"},
]
NO_GRACE = {"UP_SESSIONS_ROTATION_GRACE": 0, "ADMIN_SESSIONS_ROTATION_GRACE": 0}


def rows(app: Flask) -> list[tuple[Any, ...]]:
    """Every session's token hash and status: what a rotation or revocation changes."""
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        found = db.execute(
            select(
                StrapiSession.session_id, StrapiSession.status, StrapiSession.token_hash
            ).order_by(StrapiSession.session_id)
        ).all()
        db.rollback()
    return [tuple(row) for row in found]


def cookie_value(response: TestResponse, name: str) -> str:
    for header in set_cookies(response):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {set_cookies(response)}")


class Setup:
    """An app with a content-API user and an admin logged in, tokens kept by hand."""

    def __init__(self, app: Flask):
        self.app = app
        self.client = app.test_client(use_cookies=False)
        self.up_token = cookie_value(
            register(self.client, headers={"x-strapi-refresh-cookie": "httpOnly"}), UP_COOKIE
        )
        assert register_admin(self.client).status_code == 200
        admin = admin_login(self.client)
        self.admin_access = admin.get_json()["data"]["token"]
        self.admin_token = cookie_value(admin, ADMIN_COOKIE)

    def up_refresh(self, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        cookie = {"Cookie": f"{UP_COOKIE}={self.up_token}"}
        return self.client.post(
            "/api/auth/refresh", headers={**cookie, **(headers or {})}, **kwargs
        )

    def up_logout(self, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        cookie = {"Cookie": f"{UP_COOKIE}={self.up_token}"}
        return self.client.post("/api/auth/logout", headers={**cookie, **(headers or {})}, **kwargs)

    def admin_refresh(self, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        cookie = {"Cookie": f"{ADMIN_COOKIE}={self.admin_token}"}
        return self.client.post(
            "/admin/access-token", headers={**cookie, **(headers or {})}, **kwargs
        )


COOKIE_ROUTES = ["up_refresh", "up_logout", "admin_refresh"]


@pytest.fixture
def setup(make_app: Callable[..., Flask]) -> Callable[..., Setup]:
    def factory(**config: Any) -> Setup:
        return Setup(make_app(**NO_GRACE, **config))

    return factory


# -- cookie-authenticated POSTs ---------------------------------------------------------


@pytest.mark.parametrize("route", COOKIE_ROUTES)
def test_cross_site_cookie_post_is_refused_and_changes_nothing(
    setup: Callable[..., Setup], route: str
) -> None:
    s = setup()
    before = rows(s.app)
    for headers in CROSS_SITE:
        response = getattr(s, route)(headers)
        assert error(response) == REFUSED, headers
        assert set_cookies(response) == []
    assert rows(s.app) == before
    # and the cookie still works from the app's own pages
    assert getattr(s, route)().status_code == 200


@pytest.mark.parametrize("route", COOKIE_ROUTES)
def test_same_site_cookie_post_is_allowed(setup: Callable[..., Setup], route: str) -> None:
    for headers in SAME_SITE:
        s = setup()
        response = getattr(s, route)(headers)
        assert response.status_code == 200, headers


def test_cookie_logout_with_bearer_from_another_site_is_refused(
    setup: Callable[..., Setup],
) -> None:
    s = setup()
    refreshed = s.up_refresh()
    s.up_token = cookie_value(refreshed, UP_COOKIE)
    access = refreshed.get_json()["jwt"]
    before = rows(s.app)
    response = s.up_logout({"Origin": EVIL, **bearer(access)})
    assert error(response) == REFUSED
    assert rows(s.app) == before


@pytest.mark.parametrize("route", COOKIE_ROUTES)
@pytest.mark.parametrize(
    "content",
    [
        {"data": '{"a": 1}', "content_type": "text/plain"},
        {"data": "{}", "content_type": "text/plain;charset=UTF-8"},
        {"data": {"refreshToken": "x"}},  # form-urlencoded
        {"data": "a=b", "content_type": "application/x-www-form-urlencoded"},
        {"data": "--x--", "content_type": "multipart/form-data; boundary=x"},
        {"data": "", "content_type": "text/plain"},
        {"data": "", "content_type": "application/x-www-form-urlencoded"},
    ],
    ids=["text", "text-charset", "form", "form-raw", "multipart", "empty-text", "empty-form"],
)
def test_cookie_post_accepts_only_json(
    setup: Callable[..., Setup], route: str, content: dict[str, Any]
) -> None:
    s = setup()
    before = rows(s.app)
    response = getattr(s, route)(**content)
    assert response.status_code == 415
    assert response.get_json()["error"]["name"] == "UnsupportedMediaTypeError"
    assert set_cookies(response) == []
    assert rows(s.app) == before
    assert getattr(s, route)(json={}).status_code == 200


def test_cross_site_login_is_refused_when_it_would_set_a_cookie(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app()
    client = app.test_client(use_cookies=False)
    register(client)
    register_admin(client)
    before = rows(app)
    for headers in CROSS_SITE:
        cookie_login = login(client, headers={"x-strapi-refresh-cookie": "httpOnly", **headers})
        assert error(cookie_login) == REFUSED
        admin = client.post(
            "/admin/login",
            json={"email": "ada@example.com", "password": "Secret123"},
            headers=headers,
        )
        assert error(admin) == REFUSED
        assert set_cookies(cookie_login) == set_cookies(admin) == []
    assert rows(app) == before


def test_cross_site_register_is_refused_in_cookie_mode(make_app: Callable[..., Flask]) -> None:
    app = make_app(UP_SESSIONS_HTTPONLY=True)
    client = app.test_client(use_cookies=False)
    assert error(register(client, headers={"Origin": EVIL})) == REFUSED
    assert (
        error(
            client.post(
                "/admin/register-admin",
                json={"email": "ada@example.com", "firstname": "Ada", "password": "Secret123"},
                headers={"Origin": EVIL},
            )
        )
        == REFUSED
    )
    assert rows(app) == []
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is False


def test_body_mode_is_not_cookie_authenticated(make_app: Callable[..., Flask]) -> None:
    """A refresh token in the body cannot be sent by a forged page: any origin may use it."""
    client = make_app().test_client(use_cookies=False)
    first = register(client).get_json()
    logged_in = login(client, headers={"Origin": EVIL})
    assert logged_in.status_code == 200
    refreshed = client.post(
        "/api/auth/refresh",
        json={"refreshToken": first["refreshToken"]},
        headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    )
    assert refreshed.status_code == 200
    out = client.post(
        "/api/auth/logout", json={}, headers={"Origin": EVIL, **bearer(refreshed.get_json()["jwt"])}
    )
    assert out.get_json() == {"ok": True}


# -- trusted front ends ----------------------------------------------------------------------


def test_trusted_origins_may_use_the_cookie(setup: Callable[..., Setup]) -> None:
    config = {
        "UP_TRUSTED_ORIGINS": f"{FRONT_END}, https://other.example",
        "ADMIN_TRUSTED_ORIGINS": [FRONT_END],
    }
    for route in COOKIE_ROUTES:
        s = setup(**config)
        response = getattr(s, route)({"Origin": FRONT_END, "Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 200, route


def test_trusted_origins_are_per_origin(setup: Callable[..., Setup]) -> None:
    s = setup(ADMIN_TRUSTED_ORIGINS=FRONT_END)
    assert error(s.up_refresh({"Origin": FRONT_END})) == REFUSED
    assert s.admin_refresh({"Origin": FRONT_END}).status_code == 200

    s = setup(UP_TRUSTED_ORIGINS=FRONT_END)
    assert error(s.admin_refresh({"Origin": FRONT_END})) == REFUSED
    assert s.up_refresh({"Origin": FRONT_END}).status_code == 200


def test_trusted_origin_must_match_exactly(setup: Callable[..., Setup]) -> None:
    s = setup(UP_TRUSTED_ORIGINS=FRONT_END)
    for origin in (
        "http://app.example",
        "https://app.example:8443",
        "https://evil.app.example",
        "https://app.example.evil.example",
    ):
        assert error(s.up_refresh({"Origin": origin})) == REFUSED, origin


# -- CORS --------------------------------------------------------------------------------------


def preflight(client: FlaskClient, path: str, origin: str, method: str = "POST") -> TestResponse:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )


def cors_headers(response: TestResponse) -> list[str]:
    return [key for key, _ in response.headers.items() if key.startswith("Access-Control-")]


CORS_ROUTES = [
    ("/api/auth/refresh", "POST"),
    ("/api/auth/local", "POST"),
    ("/api/auth/logout", "POST"),
    ("/api/users/me", "GET"),
    ("/admin/access-token", "POST"),
    ("/admin/login", "POST"),
    ("/admin/users/me", "PUT"),
]


@pytest.mark.parametrize(("path", "method"), CORS_ROUTES)
def test_preflight_from_a_trusted_origin(
    make_app: Callable[..., Flask], path: str, method: str
) -> None:
    app = make_app(UP_TRUSTED_ORIGINS=FRONT_END, ADMIN_TRUSTED_ORIGINS=FRONT_END)
    response = preflight(app.test_client(), path, FRONT_END, method)
    assert 200 <= response.status_code < 300
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == FRONT_END
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert method in [m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")]
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "authorization", "x-strapi-refresh-cookie"} <= allowed
    assert int(headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in headers["Vary"]


@pytest.mark.parametrize(("path", "method"), CORS_ROUTES)
def test_preflight_from_anyone_else_gets_no_cors(
    make_app: Callable[..., Flask], path: str, method: str
) -> None:
    app = make_app(UP_TRUSTED_ORIGINS=FRONT_END, ADMIN_TRUSTED_ORIGINS=FRONT_END)
    for origin in (EVIL, "null", "https://app.example.evil.example"):
        response = preflight(app.test_client(), path, origin, method)
        assert cors_headers(response) == [], origin


def test_preflight_changes_nothing(setup: Callable[..., Setup]) -> None:
    s = setup(UP_TRUSTED_ORIGINS=FRONT_END, ADMIN_TRUSTED_ORIGINS=FRONT_END)
    before = rows(s.app)
    for path in ("/api/auth/refresh", "/api/auth/logout", "/admin/access-token"):
        cookies = f"{UP_COOKIE}={s.up_token}; {ADMIN_COOKIE}={s.admin_token}"
        response = s.client.options(
            path,
            headers={
                "Origin": FRONT_END,
                "Access-Control-Request-Method": "POST",
                "Cookie": cookies,
            },
        )
        assert set_cookies(response) == []
    assert rows(s.app) == before


def test_trusted_origin_reads_answers_and_errors_with_credentials(
    setup: Callable[..., Setup],
) -> None:
    s = setup(UP_TRUSTED_ORIGINS=FRONT_END, ADMIN_TRUSTED_ORIGINS=FRONT_END)
    ok = s.up_refresh({"Origin": FRONT_END})
    refused = s.client.post(
        "/api/auth/refresh", json={"refreshToken": "garbage"}, headers={"Origin": FRONT_END}
    )
    admin_refused = s.client.get("/admin/users/me", headers={"Origin": FRONT_END})
    assert (ok.status_code, refused.status_code, admin_refused.status_code) == (200, 401, 401)
    for response in (ok, refused, admin_refused):
        assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in response.headers["Vary"]
        exposed = response.headers["Access-Control-Expose-Headers"]
        assert "Retry-After" in exposed and "X-RateLimit-Remaining" in exposed


def test_untrusted_origin_gets_no_cors_on_answers(setup: Callable[..., Setup]) -> None:
    s = setup(UP_TRUSTED_ORIGINS=FRONT_END)
    response = s.client.post(
        "/api/auth/refresh", json={"refreshToken": "garbage"}, headers={"Origin": EVIL}
    )
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_no_trusted_origins_means_no_cors_at_all(setup: Callable[..., Setup]) -> None:
    s = setup()
    for origin in (FRONT_END, "http://localhost"):
        responses = [
            s.up_refresh({"Origin": "http://localhost"}),
            preflight(s.client, "/api/auth/refresh", origin),
            preflight(s.client, "/admin/login", origin),
        ]
        for response in responses:
            assert cors_headers(response) == []
