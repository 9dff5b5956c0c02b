"""A page from another site cannot use the refresh cookies, whatever request it makes.

The demo runs at ``http://127.0.0.1:<port>``; the attacker's page comes from
``http://localhost:<other port>``: another host, so another site to the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext

from tests.e2e.demo import (
    ADMIN_COOKIE,
    UP_COOKIE,
    LiveServer,
    call_me,
    create_admin,
    expect_state,
    login_admin,
    open_demo,
    register_user,
    sessions_in_db,
)

ATTACKER_PAGE = "<!doctype html><title>Win a prize</title><iframe name=sink></iframe>"

#: everything a page may try without the victim's help: a credentialed CORS fetch (as the
#: demo itself makes), a "simple" no-cors fetch that needs no preflight, and a form POST
ATTACK = """async (target) => {
    const outcome = {};
    try {
        const r = await fetch(target, {method: 'POST', credentials: 'include',
            headers: {'Content-Type': 'application/json', 'x-strapi-refresh-cookie': 'httpOnly'},
            body: '{}'});
        outcome.cors = 'answered ' + r.status + ': ' + await r.text();
    } catch (e) {
        outcome.cors = 'blocked';
    }
    const opaque = await fetch(target, {method: 'POST', mode: 'no-cors', credentials: 'include',
        body: '{}'});
    outcome.noCors = opaque.type;
    const sink = document.querySelector('iframe');
    const loaded = new Promise(resolve => sink.addEventListener('load', resolve, {once: true}));
    const form = Object.assign(document.createElement('form'),
        {method: 'POST', action: target, target: 'sink', enctype: 'text/plain'});
    document.body.append(form);
    form.submit();
    await loaded;
    outcome.form = 'submitted';
    return outcome;
}"""


@pytest.fixture
def attacker() -> Iterator[LiveServer]:
    site = Flask("attacker")
    site.add_url_rule("/", "index", lambda: ATTACKER_PAGE)
    live = LiveServer(site)
    live.start()
    yield live
    live.stop()


def snapshot(server: LiveServer) -> list[tuple[object, ...]]:
    return [
        (row.session_id, row.status, row.generation, row.token_hash, row.last_used_at)
        for row in sessions_in_db(server)
    ]


def test_a_cross_site_page_cannot_use_the_refresh_cookies(
    server: LiveServer, attacker: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    victim = open_demo(context)
    register_user(victim, "margaret")
    login_admin(victim, create_admin(server), remember=True)
    victim.close()  # no silent refresh from here on: any rotation would be the attacker's
    before = snapshot(server)
    assert [status for _, status, *_ in before] == ["active", "active"]

    evil_origin = f"http://localhost:{attacker.port}"
    evil = context.new_page()
    evil.goto(evil_origin + "/")
    for path in ("/api/auth/refresh", "/admin/access-token"):
        outcome = evil.evaluate(ATTACK, server.url + path)
        assert outcome == {"cors": "blocked", "noCors": "opaque", "form": "submitted"}

    # what reached the server: SameSite=Lax kept the cookies out of every request, so none
    # could succeed
    reached = [seen for seen in server.seen if seen.origin == evil_origin]
    posts = [seen for seen in reached if seen.method == "POST"]
    assert len(posts) >= 4  # the no-cors fetch and the form, on both origins
    for seen in reached:
        assert UP_COOKIE not in seen.cookies and ADMIN_COOKIE not in seen.cookies, seen
        assert seen.fetch_site == "cross-site", seen
    # (refused for want of a cookie, or of a JSON body: 400, 401, 415 — never a 2xx)
    assert all(400 <= seen.status < 500 for seen in posts), posts
    # no rotation and no reuse revocation happened
    assert snapshot(server) == before

    # the victim's own tab still refreshes with its cookies as if nothing happened
    victim = open_demo(context)
    for origin in ("up", "admin"):
        expect_state(victim, origin, "logged-in")
        assert call_me(victim, origin) is not None
    assert [row.status for row in sessions_in_db(server)] == ["active", "active"]
