"""Admin "Remember me": its refresh cookie survives a browser restart; without it, it does not."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

from tests.e2e.demo import (
    ADMIN_COOKIE,
    LiveServer,
    call_me,
    create_admin,
    expect_state,
    login_admin,
    open_demo,
    screenshot,
)

#: ADMIN_SESSIONS_IDLE_REFRESH_TTL's default: a remember-me session's idle lifespan
REMEMBER_ME_IDLE = 7 * 24 * 3600


def after_restart(state: Any) -> Any:
    """What a browser keeps of ``state`` (from ``context.storage_state()``) across a restart.

    A restarted browser keeps persistent cookies and drops session cookies (those without
    Expires/Max-Age). ``storage_state()`` returns both kinds, the session ones marked with
    ``expires == -1``, so a new context built from it unfiltered would be a browser that
    never closed. Dropping those cookies is what the restart does.
    """
    return {**state, "cookies": [c for c in state["cookies"] if c["expires"] != -1]}


def admin_cookie(context: BrowserContext) -> Any:
    (cookie,) = [c for c in context.cookies() if c["name"] == ADMIN_COOKIE]
    return cookie


def test_a_remember_me_session_survives_a_browser_restart(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    email = create_admin(server)
    before = new_context()
    page = open_demo(before)
    login_admin(page, email, remember=True)
    cookie = admin_cookie(before)
    assert abs(cookie["expires"] - (time.time() + REMEMBER_ME_IDLE)) < 60
    state = before.storage_state()
    before.close()

    after = new_context(storage_state=after_restart(state))
    page = open_demo(after)
    expect_state(page, "admin", "logged-in")  # restored by a silent refresh at start-up
    expect(page.get_by_test_id("admin-user")).to_contain_text(email)
    expect(page.get_by_test_id("admin-status")).to_have_text("Session restored.")
    assert call_me(page, "admin") is not None


def test_a_session_without_remember_me_ends_with_the_browser(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    email = create_admin(server)
    before = new_context()
    page = open_demo(before)
    login_admin(page, email, remember=False)
    assert admin_cookie(before)["expires"] == -1  # a browser-session cookie
    # while the browser runs, a new tab is signed in too
    other_tab = open_demo(before)
    expect_state(other_tab, "admin", "logged-in")
    other_tab.get_by_test_id("admin-sessions-reload").click()
    expect(other_tab.get_by_test_id("admin-session")).to_have_count(1)
    screenshot(other_tab, "admin-logged-in")
    state = before.storage_state()
    before.close()

    after = new_context(storage_state=after_restart(state))
    page = open_demo(after)
    expect_state(page, "admin", "logged-out")
    expect(page.get_by_test_id("admin-ended")).to_be_hidden()  # nothing to announce on start
    expect(page.get_by_test_id("admin-login-form")).to_be_visible()
    assert not after.cookies()
