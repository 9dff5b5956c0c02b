"""Races between real worker processes: gunicorn (4 workers) on the test database, real HTTP.

Every test drives concurrent requests from threads, lined up on a barrier, then checks
the session rows directly in the database: one row per session whose ``token_hash`` is
the one live token, one successor per rotated token, no live token on a revoked
session, no refresh token stored in clear, no 5xx, and no session lost that should live.
The server runs on real time, with a rotation grace window (30 s) long enough to cover
every race; one test runs a second server without grace.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.mp.invariants import (
    assert_live_on,
    assert_no_clear_tokens,
    assert_no_server_errors,
    assert_one_successor_each,
    assert_revoked,
    session_id_of,
    session_row,
)
from tests.mp.server import Answer, Server, app_environment, concurrently, running
from tests.support import FakeClock, TestDatabase, build_app

pytestmark = pytest.mark.slow

GRACE = 30
PASSWORD = "secret123"
UP_COOKIE = "strapi_up_refresh"
ADMIN_COOKIE = "strapi_admin_refresh"
COOKIE_MODE = {"x-strapi-refresh-cookie": "httpOnly"}


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(database: TestDatabase) -> Iterator[sa.Engine]:
    """Tables created and emptied; an engine of our own to look at the rows."""
    app = build_app(database, FakeClock(), {})
    with app.app_context():
        app.extensions["sqlalchemy"].engine.dispose()
    engine = sa.create_engine(database.url)
    yield engine
    engine.dispose()


def worker_env(database: TestDatabase, grace: int) -> dict[str, str]:
    return app_environment(
        database.url,
        UP_SESSIONS_ROTATION_GRACE=str(grace),
        ADMIN_SESSIONS_ROTATION_GRACE=str(grace),
        UP_SESSIONS_COOKIE_SECURE="true",
    )


@pytest.fixture(scope="module")
def server(
    engine: sa.Engine, database: TestDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("gunicorn"), worker_env(database, GRACE)) as server:
        yield server


# -- clients --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    jwt: str
    refresh: str


@dataclass(frozen=True)
class Timed:
    """An answer and when its request started and ended (monotonic seconds)."""

    started: float
    answer: Answer
    ended: float

    @property
    def status(self) -> int:
        return self.answer.status


def timed(call: Callable[[], Answer]) -> Timed:
    started = time.monotonic()
    answer = call()
    return Timed(started, answer, time.monotonic())


def register(server: Server) -> tuple[str, Tokens]:
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    answer = server.post("/api/auth/local/register", body)
    assert answer.status == 200, answer
    return name, Tokens(answer.body["jwt"], answer.body["refreshToken"])


def login(server: Server, name: str, password: str = PASSWORD) -> Tokens:
    answer = server.post("/api/auth/local", {"identifier": name, "password": password})
    assert answer.status == 200, answer
    return Tokens(answer.body["jwt"], answer.body["refreshToken"])


def refresh(server: Server, token: str) -> Answer:
    return server.post("/api/auth/refresh", {"refreshToken": token})


def refresh_by_cookie(server: Server, token: str) -> Answer:
    return server.post("/api/auth/refresh", {}, {"Cookie": f"{UP_COOKIE}={token}", **COOKIE_MODE})


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def assert_access_dead(server: Server, jwts: list[str]) -> None:
    """Every access token of a revoked session is refused, on the app's view and ours."""
    for jwt in jwts:
        assert server.get("/private", bearer(jwt)).status == 401
        assert server.get("/api/users/me", bearer(jwt)).status == 401


def assert_refused_after(timeline: list[Timed], moment: float) -> None:
    """Every refresh that started after ``moment`` was refused: revocation is immediate."""
    late = [t.status for t in timeline if t.started > moment]
    assert set(late) <= {401}, late


# -- races ----------------------------------------------------------------------------


def test_concurrent_refreshes_of_one_token_all_get_the_same_successor(
    server: Server, engine: sa.Engine
) -> None:
    name, first = register(server)
    bystander = login(server, name)

    answers = concurrently([partial(refresh, server, first.refresh)] * 16)

    assert_no_server_errors(answers)
    assert [a.status for a in answers] == [200] * 16
    assert len({a.worker for a in answers}) >= 2, "one worker took every request"
    assert_one_successor_each((first.refresh, a.body["refreshToken"]) for a in answers)
    successor = answers[0].body["refreshToken"]
    row = assert_live_on(engine, successor)
    assert row["previous_token_hash"] is not None and row["generation"] == 1
    assert {server.get("/private", bearer(a.body["jwt"])).status for a in answers} == {200}
    # the chain goes on, and the other device never noticed
    after = refresh(server, successor)
    assert after.status == 200
    assert_live_on(engine, after.body["refreshToken"])
    assert session_row(engine, session_id_of(bystander.refresh))["generation"] == 0
    assert refresh(server, bystander.refresh).status == 200
    tokens = [first.refresh, successor, after.body["refreshToken"], bystander.refresh]
    assert_no_clear_tokens(engine, tokens)


def test_concurrent_admin_refreshes_of_one_cookie_all_get_the_same_successor(
    server: Server, engine: sa.Engine
) -> None:
    body = {"email": "ada@example.com", "firstname": "Ada", "password": "Secret123"}
    assert server.post("/admin/register-admin", body).status == 200
    logged_in = server.post(
        "/admin/login", {"email": "ada@example.com", "password": "Secret123", "rememberMe": True}
    )
    first = logged_in.cookie(ADMIN_COOKIE)
    assert logged_in.status == 200 and first

    def access_token() -> Answer:
        return server.post("/admin/access-token", {}, {"Cookie": f"{ADMIN_COOKIE}={first}"})

    answers = concurrently([access_token] * 12)

    assert_no_server_errors(answers)
    assert [a.status for a in answers] == [200] * 12
    rotations = [(first, a.cookie(ADMIN_COOKIE) or "") for a in answers]
    assert_one_successor_each(rotations)
    successor = rotations[0][1]
    assert_live_on(engine, successor)
    assert {
        server.get("/admin/users/me", bearer(a.body["data"]["token"])).status for a in answers
    } == {200}
    assert_no_clear_tokens(engine, [first, successor])


def test_two_tabs_refreshing_one_session_stay_on_one_chain(
    server: Server, engine: sa.Engine
) -> None:
    name = register(server)[0]
    logged_in = server.post(
        "/api/auth/local", {"identifier": name, "password": PASSWORD}, COOKIE_MODE
    )
    token = logged_in.cookie(UP_COOKIE)
    assert logged_in.status == 200 and token and "refreshToken" not in logged_in.body
    issued = [token]
    rotations: list[tuple[str, str]] = []
    answers: list[Answer] = []

    for _ in range(12):  # both tabs find the same cookie and refresh at the same moment
        both = concurrently([partial(refresh_by_cookie, server, token)] * 2)
        answers += both
        assert [a.status for a in both] == [200, 200], [(a.status, a.body) for a in both]
        rotations += [(token, a.cookie(UP_COOKIE) or "") for a in both]
        token = both[0].cookie(UP_COOKIE) or ""
        issued.append(token)

    assert_no_server_errors(answers)
    assert_one_successor_each(rotations)
    assert len(set(issued)) == 13
    row = assert_live_on(engine, token)
    assert row["generation"] == 12
    assert {server.get("/private", bearer(a.body["jwt"])).status for a in answers[-2:]} == {200}
    assert refresh_by_cookie(server, token).status == 200
    assert_no_clear_tokens(engine, issued)


def test_logout_racing_refreshes_leaves_no_live_token(server: Server, engine: sa.Engine) -> None:
    _name, first = register(server)
    token, jwts, issued = first.refresh, [first.jwt], [first.refresh]
    rotations: list[tuple[str, str]] = []
    timeline: list[Timed] = []
    logout: Timed | None = None

    for round_ in range(20):  # two tabs refresh together; in round 3 a logout joins them
        calls = [partial(timed, partial(refresh, server, token))] * 2
        if round_ == 3:
            calls.append(
                partial(timed, partial(server.post, "/api/auth/logout", {}, bearer(first.jwt)))
            )
        results = concurrently(calls)
        if round_ == 3:
            logout = results.pop()
        timeline += results
        granted = [t.answer for t in results if t.status == 200]
        assert {t.status for t in results} <= {200, 401}
        rotations += [(token, a.body["refreshToken"]) for a in granted]
        jwts += [a.body["jwt"] for a in granted]
        if not granted:
            break
        token = granted[0].body["refreshToken"]
        issued.append(token)

    assert logout is not None and logout.status == 200 and logout.answer.body == {"ok": True}
    assert_no_server_errors([t.answer for t in timeline])
    assert_refused_after(timeline, logout.ended)
    assert_one_successor_each(rotations)
    assert_revoked(engine, session_id_of(token), "logout")
    assert {refresh(server, t).status for t in issued} == {401}
    assert_access_dead(server, jwts)
    assert_no_clear_tokens(engine, issued)


def refresh_until_refused(server: Server, token: str, timeline: list[Timed]) -> None:
    """One device refreshing its own chain, one request after the other, until refused."""
    for _ in range(300):
        result = timed(partial(refresh, server, token))
        timeline.append(result)
        if result.status != 200:
            return
        token = result.answer.body["refreshToken"]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_password_change_racing_refreshes_revokes_every_other_session(
    server: Server, engine: sa.Engine
) -> None:
    name, here = register(server)
    others = [login(server, name), login(server, name)]
    timelines: list[list[Timed]] = [[], []]
    loops = [
        threading.Thread(target=refresh_until_refused, args=(server, other.refresh, timeline))
        for other, timeline in zip(others, timelines, strict=True)
    ]
    for loop in loops:
        loop.start()
    wait_for(lambda: all(len(t) >= 2 for t in timelines), "the other devices to refresh")

    body = {
        "currentPassword": PASSWORD,
        "password": "n3w-Secret",
        "passwordConfirmation": "n3w-Secret",
    }
    change = timed(partial(server.post, "/api/auth/change-password", body, bearer(here.jwt)))
    for loop in loops:
        loop.join(timeout=60)

    assert change.status == 200, change.answer
    for other, timeline in zip(others, timelines, strict=True):
        answers = [t.answer for t in timeline]
        assert_no_server_errors(answers)
        assert [a.status for a in answers] == [200] * (len(answers) - 1) + [401]
        assert_refused_after(timeline, change.ended)
        assert_revoked(engine, session_id_of(other.refresh), "password-change")
        assert_access_dead(server, [a.body["jwt"] for a in answers if a.status == 200])
    kept = change.answer.body
    assert_live_on(engine, kept["refreshToken"])
    assert server.get("/private", bearer(kept["jwt"])).status == 200
    assert refresh(server, kept["refreshToken"]).status == 200
    refused = server.post("/api/auth/local", {"identifier": name, "password": PASSWORD})
    assert refused.status == 400
    assert login(server, name, "n3w-Secret").jwt


def test_replayed_token_racing_its_holder_revokes_only_that_session(
    server: Server, engine: sa.Engine
) -> None:
    name, first = register(server)
    bystander = login(server, name)
    chain = [first.refresh]
    for _ in range(2):  # the stolen first token is now an ancestor beyond the grace answer
        chain.append(refresh(server, chain[-1]).body["refreshToken"])
    holder: list[Timed] = []

    # the thief replays the first token four times while the holder refreshes
    results = concurrently(
        [partial(timed, partial(refresh, server, chain[-1]))]
        + [partial(timed, partial(refresh, server, first.refresh))] * 4
    )
    holder.append(results[0])
    thief = results[1:]
    if holder[0].status == 200:
        refresh_until_refused(server, holder[0].answer.body["refreshToken"], holder)

    assert_no_server_errors([t.answer for t in holder + thief])
    assert [t.status for t in thief] == [401] * 4
    statuses = [t.status for t in holder]
    assert statuses == [200] * (len(statuses) - 1) + [401]
    assert_refused_after(holder, min(t.ended for t in thief))
    assert_revoked(engine, session_id_of(first.refresh), "reuse-detected")
    jwts = [first.jwt] + [t.answer.body["jwt"] for t in holder if t.status == 200]
    assert_access_dead(server, jwts)
    # reuse kills the one session, not the user's other devices
    assert_live_on(engine, bystander.refresh)
    assert server.get("/private", bearer(bystander.jwt)).status == 200
    issued = chain + [t.answer.body["refreshToken"] for t in holder if t.status == 200]
    assert_no_clear_tokens(engine, [*issued, bystander.refresh])


def test_without_grace_one_concurrent_refresh_wins_and_the_rest_revoke_the_session(
    engine: sa.Engine, database: TestDatabase, tmp_path: Path
) -> None:
    with running(tmp_path, worker_env(database, 0)) as strict:
        name, first = register(strict)
        bystander = login(strict, name)

        answers = concurrently([partial(refresh, strict, first.refresh)] * 8)

        assert_no_server_errors(answers)
        assert sorted(a.status for a in answers) == [200] + [401] * 7
        (winner,) = (a.body for a in answers if a.status == 200)
        # the losers presented a rotated token outside any grace: reuse, the session ends
        assert_revoked(engine, session_id_of(first.refresh), "reuse-detected")
        assert refresh(strict, winner["refreshToken"]).status == 401
        assert_access_dead(strict, [first.jwt, winner["jwt"]])
        assert_live_on(engine, bystander.refresh)
        assert refresh(strict, bystander.refresh).status == 200
        assert_no_clear_tokens(engine, [first.refresh, winner["refreshToken"]])
