"""Silent refresh in a real browser: 2-second access tokens, one tab and two at once."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page

from tests.e2e.demo import (
    UP_COOKIE,
    LiveServer,
    access_token,
    call_me,
    claims,
    expect_state,
    open_demo,
    register_user,
    sessions_in_db,
    wait_for_new_token,
)

#: makes a page behave like a browser without Web Locks and BroadcastChannel, so that its
#: tabs refresh on their own and only the server's grace window keeps them both signed in
WITHOUT_TAB_COORDINATION = "delete Navigator.prototype.locks; delete window.BroadcastChannel;"

#: at the given epoch-milliseconds moment, start a refresh; the promise is kept on window
REFRESH_AT = """at => {
    window.__refreshed = new Promise(resolve => setTimeout(
        () => window.fss.refresh('up').then(resolve), Math.max(0, at - Date.now())));
}"""


def record_panel_states(page: Page) -> None:
    """Collect every ``data-state`` the content-API panel takes from now on."""
    page.evaluate(
        """() => {
            const panel = document.getElementById('up-panel');
            window.__states = [panel.dataset.state];
            new MutationObserver(() => window.__states.push(panel.dataset.state))
                .observe(panel, {attributes: true, attributeFilter: ['data-state']});
        }"""
    )


def test_silent_refresh_keeps_the_user_logged_in_across_expiries(
    server: LiveServer, page: Page
) -> None:
    register_user(page, "katherine")
    record_panel_states(page)
    tokens = [access_token(page, "up")]
    while len(tokens) < 5:  # the first three have expired by the time the fifth arrives
        tokens.append(wait_for_new_token(page, "up", tokens[-1]))
    page.wait_for_function("exp => Date.now() / 1000 > exp", arg=claims(tokens[2])["exp"])

    assert set(page.evaluate("window.__states")) == {"logged-in"}  # never left, even briefly
    assert call_me(page, "up") is not None
    expect_state(page, "up", "logged-in")
    # the old tokens really are dead: the server refuses them
    refused = page.evaluate(
        """tokens => Promise.all(tokens.map(t => fetch('/api/users/me',
            {headers: {Authorization: 'Bearer ' + t}}).then(r => r.status)))""",
        tokens[:3],
    )
    assert refused == [401, 401, 401]
    # each new token came from a refresh with the HttpOnly cookie, all in one session
    refreshes = [s for s in server.requests_to("/api/auth/refresh") if s.status == 200]
    assert len(refreshes) >= 4
    assert all(UP_COOKIE in s.cookies for s in refreshes)
    assert len({claims(t)["sessionId"] for t in tokens if t}) == 1
    assert [row.status for row in sessions_in_db(server)] == ["active"]


def _refresh_both_at_once(first: Page, second: Page) -> list[str]:
    """Start a refresh in both tabs at the same instant; the tokens they end up with."""
    at = int(time.time() * 1000) + 400
    for tab in (first, second):
        tab.evaluate(REFRESH_AT, at)
    return [tab.evaluate("window.__refreshed") for tab in (first, second)]


def test_two_tabs_refreshing_at_the_same_moment_both_stay_logged_in(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    first = open_demo(context)
    register_user(first, "dorothy")
    second = open_demo(context)  # restores the session from the shared cookie
    expect_state(second, "up", "logged-in")

    for _ in range(3):
        assert all(_refresh_both_at_once(first, second))
        assert call_me(first, "up") is not None
        assert call_me(second, "up") is not None
    for tab in (first, second):
        expect_state(tab, "up", "logged-in")
    assert [row.status for row in sessions_in_db(server)] == ["active"]


def test_two_tabs_without_web_locks_refreshing_at_once_both_stay_logged_in(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    context.add_init_script(WITHOUT_TAB_COORDINATION)
    first = open_demo(context)
    assert first.evaluate("window.fss.features") == {
        "webLocks": False,
        "broadcastChannel": False,
    }
    register_user(first, "mary")
    second = open_demo(context)
    expect_state(second, "up", "logged-in")

    before = len(server.requests_to("/api/auth/refresh"))
    for _ in range(3):
        assert all(_refresh_both_at_once(first, second))
        assert call_me(first, "up") is not None
        assert call_me(second, "up") is not None
    for tab in (first, second):
        expect_state(tab, "up", "logged-in")
    # the tabs raced for real (the same refresh cookie presented twice), every refresh
    # succeeded, and no reuse was detected: the one session is still live
    refreshes = server.requests_to("/api/auth/refresh")[before:]
    assert all(s.status == 200 for s in refreshes)
    presented = [s.cookies[UP_COOKIE] for s in refreshes]
    assert len(set(presented)) < len(presented)
    assert [row.status for row in sessions_in_db(server)] == ["active"]
