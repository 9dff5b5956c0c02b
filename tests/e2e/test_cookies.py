"""The refresh cookies in a real browser: HttpOnly, and each kept to its own origin's paths."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.demo import (
    ADMIN_COOKIE,
    UP_COOKIE,
    LiveServer,
    access_token,
    create_admin,
    expect_state,
    login_admin,
    open_demo,
    register_user,
    screenshot,
    wait_for_new_token,
)


def test_the_page_starts_logged_out_with_both_login_forms(page: Page) -> None:
    for origin in ("up", "admin"):
        expect_state(page, origin, "logged-out")
        expect(page.get_by_test_id(f"{origin}-login-form")).to_be_visible()
        expect(page.get_by_test_id(f"{origin}-ended")).to_be_hidden()
    # no administrator yet: the page offers to create the first one
    expect(page.get_by_test_id("admin-register-form")).to_be_visible()
    expect(page.get_by_test_id("up-panel")).to_have_attribute("data-mode", "refresh")
    screenshot(page, "logged-out")


def test_refresh_cookies_are_httponly_and_invisible_to_scripts(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = open_demo(context)
    register_user(page, "hedy")
    login_admin(page, create_admin(server), remember=False)

    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert set(cookies) == {UP_COOKIE, ADMIN_COOKIE}
    for name, path in ((UP_COOKIE, "/api"), (ADMIN_COOKIE, "/admin")):
        assert cookies[name]["httpOnly"] is True
        assert cookies[name]["sameSite"] == "Lax"
        assert cookies[name]["path"] == path
    # the page's scripts see neither cookie, not even from a page under the cookie's path
    assert page.evaluate("document.cookie") == ""
    echo = context.new_page()
    echo.goto("/api/e2e-echo")
    assert echo.evaluate("document.cookie") == ""
    # and the access tokens are kept in memory only, never in web storage
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert access_token(page, "up") and access_token(page, "admin")


def test_each_refresh_cookie_goes_only_to_its_own_origin(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = open_demo(context)
    register_user(page, "grace")
    login_admin(page, create_admin(server), remember=True)
    # let both origins refresh silently at least once, then probe each prefix
    wait_for_new_token(page, "up", access_token(page, "up"))
    wait_for_new_token(page, "admin", access_token(page, "admin"))
    probe = "path => fetch(path, {credentials: 'include'}).then(r => r.json())"
    assert page.evaluate(probe, "/api/e2e-echo") == {"cookies": [UP_COOKIE]}
    assert page.evaluate(probe, "/admin/e2e-echo") == {"cookies": [ADMIN_COOKIE]}

    # every request the browser sent, as the server received it
    for seen in server.seen:
        if seen.path.startswith("/api/"):
            assert ADMIN_COOKIE not in seen.cookies, seen
        elif seen.path.startswith("/admin/"):
            assert UP_COOKIE not in seen.cookies, seen
        else:
            assert not seen.cookies, seen
    # ...and the refreshes did use their own cookie (so the checks above saw real traffic)
    assert any(UP_COOKIE in s.cookies for s in server.requests_to("/api/auth/refresh"))
    assert any(ADMIN_COOKIE in s.cookies for s in server.requests_to("/admin/access-token"))
