"""Ending sessions from the page: logout in one tab, and revoking another device's session."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.e2e.demo import (
    ENDED_MESSAGE,
    FIREFOX_ON_WINDOWS,
    LiveServer,
    call_me,
    expect_state,
    login_user,
    open_demo,
    register_user,
    screenshot,
    sessions_in_db,
)

#: a tab that hears nothing from the others: it can learn of the logout only from the server
DEAF_TAB = "delete window.BroadcastChannel;"


def test_logging_out_in_one_tab_ends_the_other_on_its_next_request(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    tab = open_demo(context)
    register_user(tab, "barbara")
    deaf = open_demo(context, init_script=DEAF_TAB)
    listening = open_demo(context)
    for other in (deaf, listening):
        expect_state(other, "up", "logged-in")

    tab.get_by_test_id("up-logout").click()
    expect_state(tab, "up", "logged-out")
    expect(tab.get_by_test_id("up-status")).to_have_text("Logged out.")
    expect(tab.get_by_test_id("up-ended")).to_be_hidden()  # a chosen logout is no surprise
    # a tab that listens is told at once
    expect_state(listening, "up", "ended")
    expect(listening.get_by_test_id("up-ended")).to_contain_text("you logged out in another tab")

    # the deaf tab still holds an access token, but its next request finds the session over
    assert call_me(deaf, "up") is None
    expect_state(deaf, "up", "ended")
    ended = deaf.get_by_test_id("up-ended")
    expect(ended).to_be_visible()
    expect(ended).to_have_text(ENDED_MESSAGE)
    expect(ended).to_have_attribute("role", "alert")
    expect(deaf.get_by_test_id("up-login-form")).to_be_visible()
    assert [(row.status, row.revoked_reason) for row in sessions_in_db(server)] == [
        ("revoked", "logout")
    ]


def test_revoking_a_session_from_the_list_logs_that_device_out(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    laptop = open_demo(new_context())
    register_user(laptop, "alan")
    desktop = open_demo(new_context(user_agent=FIREFOX_ON_WINDOWS))
    login_user(desktop, "alan@example.com")

    laptop.get_by_test_id("up-sessions-reload").click()
    rows = laptop.get_by_test_id("up-session")
    expect(rows).to_have_count(2)
    current, other = rows.nth(0), rows.nth(1)  # the current session is listed first
    expect(current).to_have_attribute("data-current", "true")
    expect(current.get_by_test_id("up-session-current-badge")).to_have_text("This device")
    expect(current.get_by_test_id("up-session-revoke")).to_have_count(0)
    expect(current.get_by_test_id("up-session-device")).to_have_text("Chrome on Linux")
    expect(other).to_have_attribute("data-current", "false")
    expect(other.get_by_test_id("up-session-device")).to_have_text("Firefox on Windows")
    screenshot(laptop, "content-api-sessions")

    other.get_by_test_id("up-session-revoke").click()
    expect(rows).to_have_count(1)
    expect(laptop.get_by_test_id("up-status")).to_have_text("Session revoked.")
    assert sorted((row.device_name, row.status) for row in sessions_in_db(server)) == [
        ("Chrome on Linux", "active"),
        ("Firefox on Windows", "revoked"),
    ]

    # the other device is out on its next request; this one carries on
    assert call_me(desktop, "up") is None
    expect_state(desktop, "up", "ended")
    expect(desktop.get_by_test_id("up-ended")).to_have_text(ENDED_MESSAGE)
    screenshot(desktop, "session-ended")
    assert call_me(laptop, "up") is not None
    expect_state(laptop, "up", "logged-in")
