"""Concurrent refreshes and logout racing refresh, from threads on one real database.

Each thread has its own test client (and so its own app context, session and
connection); a barrier releases them together. Every race runs several rounds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from flask import Flask

from flask_strapi_sessions import signals, tokens
from flask_strapi_sessions.models import ACTIVE, REVOKED
from tests.session_clients import ORIGINS, OriginClient, Tokens, origin_client, session_rows
from tests.support import INVALID_REFRESH, UNAUTHORIZED, FakeClock, error

THREADS = 8
ROUNDS = 4
T = TypeVar("T")


@pytest.fixture(params=ORIGINS)
def origin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def race(tasks: list[Callable[[], T]]) -> list[T]:
    """Run the tasks in threads released at the same moment; return their results in order."""
    barrier = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = tasks[index]()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    if failures:
        raise failures[0]
    return results


def refresh_task(oc: OriginClient, token: str) -> Callable[[], tuple[int, Tokens | None]]:
    def task() -> tuple[int, Tokens | None]:
        response = oc.refresh(token)
        return response.status_code, oc.tokens(response) if response.status_code == 200 else None

    return task


def user_with_client(app: Flask, origin: str) -> OriginClient:
    oc = origin_client(app, origin)
    oc.create_user("alice")
    return oc


def the_row(app: Flask, session_id: str) -> Any:
    rows = [row for row in session_rows(app) if row.session_id == session_id]
    assert len(rows) == 1
    return rows[0]


def test_simultaneous_refreshes_of_one_token_share_one_successor(app: Flask, origin: str) -> None:
    oc = user_with_client(app, origin)
    for round_ in range(1, ROUNDS + 1):
        start = oc.login()
        clients = [origin_client(app, origin) for _ in range(THREADS)]
        graces: list[bool] = []

        def record(_sender: Any, **kwargs: Any) -> None:
            graces.append(kwargs["grace"])

        with signals.session_refreshed.connected_to(record):
            results = race([refresh_task(client, start.refresh) for client in clients])

        assert [status for status, _ in results] == [200] * THREADS
        # one request rotated; every other one got the grace answer
        assert sorted(graces) == [False] + [True] * (THREADS - 1)
        issued = [answer for _, answer in results if answer is not None]
        successors = {answer.refresh for answer in issued}
        assert len(successors) == 1, "the session forked into several refresh tokens"
        (successor,) = successors
        for answer in issued:
            assert answer.session_id == start.session_id
            assert oc.me(answer.access).status_code == 200

        row = the_row(app, start.session_id)
        assert (row.status, row.generation) == (ACTIVE, 1)
        assert row.token_hash == tokens.hash_refresh_token(successor)

        # the one live token carries on; the state stays one row, one generation further
        following = oc.refresh(successor)
        assert following.status_code == 200
        row = the_row(app, start.session_id)
        assert (row.status, row.generation) == (ACTIVE, 2)
        assert row.token_hash == tokens.hash_refresh_token(oc.tokens(following).refresh)
        assert len(session_rows(app)) == round_


def test_simultaneous_refreshes_without_grace_never_fork(
    make_app: Callable[..., Flask], origin: str
) -> None:
    app = make_app(UP_SESSIONS_ROTATION_GRACE=0, ADMIN_SESSIONS_ROTATION_GRACE=0)
    oc = user_with_client(app, origin)
    for _ in range(ROUNDS):
        start = oc.login()
        clients = [origin_client(app, origin) for _ in range(THREADS)]
        results = race([refresh_task(client, start.refresh) for client in clients])

        winners = [answer for status, answer in results if status == 200]
        assert len(winners) == 1
        assert sorted(status for status, _ in results) == [200] + [401] * (THREADS - 1)
        # the others presented a consumed token outside any grace: reuse, session revoked
        row = the_row(app, start.session_id)
        assert row.status == REVOKED
        assert winners[0] is not None
        assert error(oc.refresh(winners[0].refresh)) == INVALID_REFRESH
        assert error(oc.me(winners[0].access)) == UNAUTHORIZED


def test_logout_racing_a_refresh_leaves_no_live_token(app: Flask, origin: str) -> None:
    oc = user_with_client(app, origin)
    for _ in range(ROUNDS * 2):
        start = oc.login()
        refresher, leaver = origin_client(app, origin), origin_client(app, origin)

        def logout(leaver: OriginClient = leaver, access: str = start.access) -> int:
            return leaver.logout(access).status_code

        refreshed, logged_out = race([refresh_task(refresher, start.refresh), logout])
        status, answer = refreshed
        assert logged_out == 200
        assert status in (200, 401)

        assert the_row(app, start.session_id).status == REVOKED
        assert error(oc.refresh(start.refresh)) == INVALID_REFRESH
        assert error(oc.me(start.access)) == UNAUTHORIZED
        if answer is not None:
            assert error(oc.refresh(answer.refresh)) == INVALID_REFRESH
            assert error(oc.me(answer.access)) == UNAUTHORIZED


def test_refreshes_of_different_sessions_do_not_interfere(app: Flask, origin: str) -> None:
    oc = user_with_client(app, origin)
    starts = [oc.login() for _ in range(THREADS)]
    clients = [origin_client(app, origin) for _ in range(THREADS)]
    results = race(
        [refresh_task(client, start.refresh) for client, start in zip(clients, starts, strict=True)]
    )
    assert [status for status, _ in results] == [200] * THREADS
    for start, (_, answer) in zip(starts, results, strict=True):
        assert answer is not None and answer.session_id == start.session_id
        row = the_row(app, start.session_id)
        assert (row.status, row.generation) == (ACTIVE, 1)
        assert row.token_hash == tokens.hash_refresh_token(answer.refresh)


def test_reuse_racing_a_legitimate_refresh_revokes_the_session(
    app: Flask, origin: str, clock: FakeClock
) -> None:
    oc = user_with_client(app, origin)
    for _ in range(ROUNDS):
        first = oc.login()
        current = oc.tokens(oc.refresh(first.refresh))
        clock.advance(11)  # ``first`` is now outside the grace window
        thief, owner = origin_client(app, origin), origin_client(app, origin)
        stolen, legit = race(
            [refresh_task(thief, first.refresh), refresh_task(owner, current.refresh)]
        )

        assert stolen == (401, None)
        assert legit[0] in (200, 401)
        assert the_row(app, first.session_id).status == REVOKED
        for tokens_ in (current, legit[1]):
            if tokens_ is not None:
                assert error(oc.refresh(tokens_.refresh)) == INVALID_REFRESH
                assert error(oc.me(tokens_.access)) == UNAUTHORIZED
