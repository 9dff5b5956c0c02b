"""Refresh cookies of both origins: attributes, lifetimes, clearing, names, duplicates (SPEC §5)."""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import Morsel, SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import http_date
from werkzeug.test import TestResponse

from tests.support import (
    START,
    FakeClock,
    admin_login,
    bearer,
    error,
    login,
    register,
    register_admin,
    set_cookies,
)

ADMIN_COOKIE = "strapi_admin_refresh"
UP_COOKIE = "strapi_up_refresh"
ATTRIBUTES = ("path", "domain", "samesite", "secure", "httponly")
COOKIE_MODE = {"x-strapi-refresh-cookie": "httpOnly"}


def cookie(response: TestResponse, name: str) -> Morsel[str]:
    """The one ``Set-Cookie`` of ``response`` for ``name``, parsed."""
    found = []
    for header in set_cookies(response):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            found.append(jar[name])
    assert len(found) == 1, set_cookies(response)
    return found[0]


def attributes(morsel: Morsel[str]) -> dict[str, Any]:
    return {key: morsel[key] for key in ATTRIBUTES}


def assert_cleared(morsel: Morsel[str]) -> None:
    assert morsel.value == ""
    assert morsel["max-age"] == "0"
    assert morsel["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"


def admin_login_at(client: FlaskClient, base_url: str, **body: Any) -> TestResponse:
    """``admin_login`` over a chosen scheme."""
    credentials = {"email": "ada@example.com", "password": "Secret123", **body}
    return client.post("/admin/login", json=credentials, base_url=base_url)


def admin_client(make_app: Callable[..., Flask], **config: Any) -> FlaskClient:
    client = make_app(**config).test_client()
    assert register_admin(client).status_code == 200
    return client


def up_client(make_app: Callable[..., Flask], **config: Any) -> FlaskClient:
    client = make_app(UP_SESSIONS_HTTPONLY=True, **config).test_client()
    assert register(client).status_code == 200
    return client


# -- attributes --------------------------------------------------------------------------


def test_admin_cookie_default_attributes(make_app: Callable[..., Flask]) -> None:
    client = admin_client(make_app)
    morsel = cookie(admin_login(client), ADMIN_COOKIE)
    assert attributes(morsel) == {
        "path": "/admin",
        "domain": "",
        "samesite": "Lax",
        "secure": "",
        "httponly": True,
    }


def test_up_cookie_default_attributes(make_app: Callable[..., Flask]) -> None:
    client = up_client(make_app)
    morsel = cookie(login(client), UP_COOKIE)
    assert attributes(morsel) == {
        "path": "/",
        "domain": "",
        "samesite": "Lax",
        "secure": "",
        "httponly": True,
    }


def test_admin_cookie_configured_attributes(make_app: Callable[..., Flask]) -> None:
    client = admin_client(
        make_app,
        ADMIN_COOKIE_PATH="/backoffice",
        ADMIN_COOKIE_DOMAIN="example.com",
        ADMIN_COOKIE_SAMESITE="strict",
    )
    morsel = cookie(admin_login(client), ADMIN_COOKIE)
    assert attributes(morsel) == {
        "path": "/backoffice",
        "domain": "example.com",
        "samesite": "Strict",
        "secure": "",
        "httponly": True,
    }


def test_up_cookie_configured_attributes(make_app: Callable[..., Flask]) -> None:
    client = up_client(
        make_app,
        UP_SESSIONS_COOKIE_PATH="/api/auth",
        UP_SESSIONS_COOKIE_DOMAIN="example.com",
        UP_SESSIONS_COOKIE_SAMESITE="strict",
        UP_SESSIONS_COOKIE_SECURE=True,
    )
    morsel = cookie(login(client), UP_COOKIE)
    assert attributes(morsel) == {
        "path": "/api/auth",
        "domain": "example.com",
        "samesite": "Strict",
        "secure": True,
        "httponly": True,
    }


def test_admin_secure_follows_the_request_scheme_by_default(
    make_app: Callable[..., Flask],
) -> None:
    client = admin_client(make_app)
    over_https = admin_login_at(client, "https://localhost")
    assert cookie(over_https, ADMIN_COOKIE)["secure"] is True
    assert cookie(admin_login(client), ADMIN_COOKIE)["secure"] == ""


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_admin_secure_configured_wins_over_the_scheme(
    make_app: Callable[..., Flask], secure: bool, scheme: str
) -> None:
    client = admin_client(make_app, ADMIN_COOKIE_SECURE=secure)
    response = admin_login_at(client, f"{scheme}://localhost")
    assert response.status_code == 200
    assert cookie(response, ADMIN_COOKIE)["secure"] == (True if secure else "")


def test_up_secure_auto_follows_the_scheme(make_app: Callable[..., Flask]) -> None:
    client = up_client(make_app, UP_SESSIONS_COOKIE_SECURE="auto")
    assert cookie(login(client, base_url="https://localhost"), UP_COOKIE)["secure"] is True
    assert cookie(login(client), UP_COOKIE)["secure"] == ""


def test_up_not_secure_by_default_even_over_https(make_app: Callable[..., Flask]) -> None:
    client = up_client(make_app)
    assert cookie(login(client, base_url="https://localhost"), UP_COOKIE)["secure"] == ""


def test_secure_cookie_over_plain_http_never_fails(make_app: Callable[..., Flask]) -> None:
    """Strapi answers 500 here (reference §29); this sets the cookie and carries on."""
    client = make_app(UP_SESSIONS_HTTPONLY=True, UP_SESSIONS_COOKIE_SECURE=True).test_client()
    registered = register(client)
    assert registered.status_code == 200
    assert cookie(registered, UP_COOKIE)["secure"] is True
    logged_in = login(client)
    assert logged_in.status_code == 200
    token = cookie(logged_in, UP_COOKIE).value
    cookieless = client.application.test_client(use_cookies=False)
    refreshed = cookieless.post("/api/auth/refresh", headers={"Cookie": f"{UP_COOKIE}={token}"})
    assert refreshed.status_code == 200
    assert cookie(refreshed, UP_COOKIE)["secure"] is True


# -- lifetimes ---------------------------------------------------------------------------------


def test_admin_session_cookie_without_remember_me_is_a_browser_session_cookie(
    make_app: Callable[..., Flask],
) -> None:
    client = admin_client(make_app)
    for response in (admin_login(client), client.post("/admin/access-token")):
        morsel = cookie(response, ADMIN_COOKIE)
        assert morsel["expires"] == "" and morsel["max-age"] == ""


def test_admin_remember_me_cookie_expires_with_the_session(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    client = admin_client(
        make_app, ADMIN_SESSIONS_IDLE_REFRESH_TTL=1000, ADMIN_SESSIONS_MAX_REFRESH_TTL=1500
    )
    morsel = cookie(admin_login(client, rememberMe=True), ADMIN_COOKIE)
    assert morsel["max-age"] == "1000"
    assert morsel["expires"] == http_date(START + 1000)

    # recomputed on refresh: min(now + idle, absolute)
    clock.advance(300)
    morsel = cookie(client.post("/admin/access-token"), ADMIN_COOKIE)
    assert morsel["max-age"] == "1000"
    assert morsel["expires"] == http_date(START + 1300)

    clock.advance(600)  # now + idle passes the absolute expiry at START + 1500
    morsel = cookie(client.post("/admin/access-token"), ADMIN_COOKIE)
    assert morsel["max-age"] == "600"
    assert morsel["expires"] == http_date(START + 1500)


def test_up_cookie_persists_until_the_session_expires(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    client = up_client(
        make_app, UP_SESSIONS_IDLE_REFRESH_TTL=2000, UP_SESSIONS_MAX_REFRESH_TTL=3000
    )
    clock.advance(100)
    morsel = cookie(login(client), UP_COOKIE)
    assert morsel["max-age"] == "2000"
    assert morsel["expires"] == http_date(START + 2100)

    clock.advance(1500)
    morsel = cookie(client.post("/api/auth/refresh"), UP_COOKIE)
    assert morsel["max-age"] == "1500"  # capped at the absolute expiry, START + 3100
    assert morsel["expires"] == http_date(START + 3100)


# -- clearing ----------------------------------------------------------------------------------


CUSTOM_ADMIN = {
    "ADMIN_COOKIE_PATH": "/backoffice",
    "ADMIN_COOKIE_DOMAIN": "example.com",
    "ADMIN_COOKIE_SAMESITE": "strict",
}


@pytest.mark.parametrize("config", [{}, CUSTOM_ADMIN], ids=["default", "custom"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_admin_logout_clears_with_identical_attributes(
    make_app: Callable[..., Flask], config: dict[str, Any], scheme: str
) -> None:
    client = admin_client(make_app, **config)
    base_url = f"{scheme}://localhost"
    logged_in = admin_login_at(client, base_url, rememberMe=True)
    token = logged_in.get_json()["data"]["token"]
    out = client.post("/admin/logout", json={}, headers=bearer(token), base_url=base_url)
    assert out.status_code == 200
    set_, cleared = cookie(logged_in, ADMIN_COOKIE), cookie(out, ADMIN_COOKIE)
    assert attributes(cleared) == attributes(set_)
    assert_cleared(cleared)


def test_admin_refresh_failure_clears_with_identical_attributes(
    make_app: Callable[..., Flask],
) -> None:
    client = admin_client(make_app, ADMIN_COOKIE_SECURE=True, **CUSTOM_ADMIN)
    set_ = cookie(admin_login_at(client, "https://localhost"), ADMIN_COOKIE)
    cookieless = client.application.test_client(use_cookies=False)
    failed = cookieless.post(
        "/admin/access-token",
        headers={"Cookie": f"{ADMIN_COOKIE}=not-a-refresh-token"},
        base_url="https://localhost",
    )
    assert error(failed) == (401, "UnauthorizedError", "Invalid refresh token")
    cleared = cookie(failed, ADMIN_COOKIE)
    assert attributes(cleared) == attributes(set_)
    assert_cleared(cleared)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {
            "UP_SESSIONS_COOKIE_PATH": "/api/auth",
            "UP_SESSIONS_COOKIE_DOMAIN": "example.com",
            "UP_SESSIONS_COOKIE_SAMESITE": "strict",
            "UP_SESSIONS_COOKIE_SECURE": True,
        },
    ],
    ids=["default", "custom"],
)
def test_up_logout_clears_with_identical_attributes(
    make_app: Callable[..., Flask], config: dict[str, Any]
) -> None:
    client = make_app(UP_SESSIONS_HTTPONLY=True, **config).test_client(use_cookies=False)
    registered = register(client)
    set_ = cookie(registered, UP_COOKIE)
    out = client.post(
        "/api/auth/logout",
        headers={"Cookie": f"{UP_COOKIE}={set_.value}"},
        base_url="https://localhost",
    )
    assert out.get_json() == {"ok": True}
    cleared = cookie(out, UP_COOKIE)
    assert attributes(cleared) == attributes(set_)
    assert_cleared(cleared)


def test_up_logout_with_bearer_in_cookie_mode_clears_the_cookie(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app().test_client(use_cookies=False)
    registered = register(client, headers=COOKIE_MODE)
    set_ = cookie(registered, UP_COOKIE)
    out = client.post(
        "/api/auth/logout", headers={**bearer(registered.get_json()["jwt"]), **COOKIE_MODE}
    )
    assert out.get_json() == {"ok": True}
    cleared = cookie(out, UP_COOKIE)
    assert attributes(cleared) == attributes(set_)
    assert_cleared(cleared)


# -- names and duplicates ---------------------------------------------------------------------


def test_custom_up_cookie_name(make_app: Callable[..., Flask]) -> None:
    client = make_app(UP_SESSIONS_HTTPONLY=True, UP_SESSIONS_COOKIE_NAME="my_refresh").test_client(
        use_cookies=False
    )
    response = register(client)
    token = cookie(response, "my_refresh").value
    assert all(not header.startswith(f"{UP_COOKIE}=") for header in set_cookies(response))

    # the default name is just another cookie now
    ignored = client.post("/api/auth/refresh", headers={"Cookie": f"{UP_COOKIE}={token}"})
    assert error(ignored) == (400, "BadRequestError", "Missing refresh token")
    used = client.post("/api/auth/refresh", headers={"Cookie": f"my_refresh={token}"})
    assert used.status_code == 200
    assert cookie(used, "my_refresh").value


def test_custom_admin_cookie_name(make_app: Callable[..., Flask]) -> None:
    client = admin_client(make_app, ADMIN_COOKIE_NAME="backoffice_refresh")
    response = admin_login(client)
    assert cookie(response, "backoffice_refresh").value
    assert client.post("/admin/access-token").status_code == 200


def test_two_up_refresh_cookies_are_refused_and_nothing_rotates(
    make_app: Callable[..., Flask],
) -> None:
    # no grace: a token rotated behind our back would be refused (and its session revoked)
    app = make_app(UP_SESSIONS_HTTPONLY=True, UP_SESSIONS_ROTATION_GRACE=0)
    client = app.test_client(use_cookies=False)
    mine = cookie(register(client), UP_COOKIE).value
    planted = cookie(register(client, "mallory"), UP_COOKIE).value
    for pair in ((planted, mine), (mine, planted), (mine, mine)):
        header = f"{UP_COOKIE}={pair[0]}; {UP_COOKIE}={pair[1]}"
        for path in ("/api/auth/refresh", "/api/auth/logout"):
            response = client.post(path, headers={"Cookie": header})
            assert 400 <= response.status_code < 500
            assert set_cookies(response) == []
    # neither session was rotated nor revoked: both tokens still refresh exactly once
    for token in (mine, planted):
        again = client.post("/api/auth/refresh", headers={"Cookie": f"{UP_COOKIE}={token}"})
        assert again.status_code == 200


def test_two_admin_refresh_cookies_are_refused_and_nothing_rotates(
    make_app: Callable[..., Flask],
) -> None:
    client = admin_client(make_app, ADMIN_SESSIONS_ROTATION_GRACE=0)
    token = cookie(admin_login(client), ADMIN_COOKIE).value
    cookieless = client.application.test_client(use_cookies=False)
    response = cookieless.post(
        "/admin/access-token", headers={"Cookie": f"{ADMIN_COOKIE}=x; {ADMIN_COOKIE}={token}"}
    )
    assert 400 <= response.status_code < 500
    assert set_cookies(response) == []
    still = cookieless.post("/admin/access-token", headers={"Cookie": f"{ADMIN_COOKIE}={token}"})
    assert still.status_code == 200
