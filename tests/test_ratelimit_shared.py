"""Rate limits shared by several worker processes through Redis (SPEC §5, issue 3 part 6).

gunicorn runs four workers with ``RATELIMIT_STORAGE_URI=redis://…`` and a key prefix of
this run's own (``RATELIMIT_KEY_PREFIX``), so parallel runs on one Redis never count each
other's requests. The content API's login allows 10 a minute per client IP across all the
workers together. With the default in-process store each worker counts alone, which is
why a deployment with several workers needs the shared store.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import redis
from flask import Flask

from flask_strapi_sessions import ConfigError, StrapiSessions
from tests.mp.server import Answer, Server, app_environment, concurrently, running
from tests.support import TestDatabase, login, prepare_tables, register

REDIS_URL = "redis://127.0.0.1:6379/13"
RATE_LIMITED = {
    "data": None,
    "error": {
        "status": 429,
        "name": "RateLimitError",
        "message": "Too many requests, please try again later.",
        "details": {},
    },
}


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A prefix of this test's own; its counters (and ``<prefix>-*``'s) are deleted afterwards."""
    prefix = f"fss-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    store = redis.Redis.from_url(REDIS_URL)
    keys = list(store.scan_iter(match=f"LIMITS:{prefix}*"))
    if keys:
        store.delete(*keys)
    store.close()


@pytest.fixture
def tables(database: TestDatabase) -> None:
    """Tables created and emptied before the workers start."""
    prepare_tables(database)


def limited_env(database: TestDatabase, storage: str, prefix: str) -> dict[str, str]:
    """Workers with the content API's login limit on (10 a minute) and this store."""
    return app_environment(
        database.url,
        UP_RATELIMIT_ENABLED="true",
        RATELIMIT_STORAGE_URI=storage,
        RATELIMIT_KEY_PREFIX=prefix,
        UP_SESSIONS_COOKIE_SECURE="true",
    )


def try_login(server: Server, password: str) -> Answer:
    return server.post("/api/auth/local", {"identifier": "carol", "password": password})


@pytest.mark.slow
def test_login_limit_holds_across_workers_with_redis(
    tables: None, database: TestDatabase, key_prefix: str, tmp_path: Path
) -> None:
    env = limited_env(database, REDIS_URL, key_prefix)
    with running(tmp_path, env, workers=4, worker_class="sync") as server:
        body = {"username": "carol", "email": "carol@example.com", "password": "secret123"}
        assert server.post("/api/auth/local/register", body).status == 200

        answers = concurrently([partial(try_login, server, "secret123")] * 16)
        answers += [try_login(server, "secret123") for _ in range(4)]

    passed = [a for a in answers if a.status == 200]
    limited = [a for a in answers if a.status == 429]
    assert len(passed) == 10 and len(limited) == 10, Counter(a.status for a in answers)
    assert len({a.worker for a in passed}) >= 2, "one worker let every login through"
    assert len({a.worker for a in limited}) >= 2, "one worker refused every login"
    assert all(a.body == RATE_LIMITED for a in limited)
    assert all(a.headers["x-ratelimit-remaining"] == "0" for a in limited)
    assert all(1 <= int(a.headers["retry-after"]) <= 61 for a in limited)
    assert answers[-1].status == 429  # after the burst, whichever worker answers
    store = redis.Redis.from_url(REDIS_URL)
    assert list(store.scan_iter(match=f"LIMITS:{key_prefix}/*"))
    store.close()


@pytest.mark.slow
def test_in_process_store_counts_per_worker(
    tables: None, database: TestDatabase, key_prefix: str, tmp_path: Path
) -> None:
    """What goes wrong without Redis: each worker allows its own 10 a minute."""
    passed: Counter[str] = Counter()
    env = limited_env(database, "memory://", key_prefix)
    with running(tmp_path, env, workers=4, worker_class="sync") as srv:
        for _ in range(10):  # bounded: at most 80 attempts
            for answer in concurrently([partial(try_login, srv, "wrong-password")] * 8):
                assert answer.status in (400, 429), answer
                if answer.status == 400:
                    passed[answer.worker] += 1
            if sum(passed.values()) > 10:
                break
    assert sum(passed.values()) > 10
    assert max(passed.values()) <= 10


def test_apps_with_one_key_prefix_share_counts_and_others_do_not(
    make_app: Callable[..., Flask], key_prefix: str
) -> None:
    limited = {"UP_RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL}
    first = make_app(RATELIMIT_KEY_PREFIX=key_prefix, **limited).test_client()
    second = make_app(RATELIMIT_KEY_PREFIX=key_prefix, **limited).test_client()
    other = make_app(RATELIMIT_KEY_PREFIX=f"{key_prefix}-other", **limited).test_client()
    register(first)
    for client in (first, second) * 5:
        assert login(client, password="wrong").status_code == 400
    assert login(second).status_code == 429
    assert login(first).status_code == 429
    assert login(other).status_code == 200
    store = redis.Redis.from_url(REDIS_URL)
    assert list(store.scan_iter(match=f"LIMITS:{key_prefix}/*"))
    assert list(store.scan_iter(match=f"LIMITS:{key_prefix}-other/*"))
    store.close()


def test_key_prefix_defaults_to_fss(app: Flask) -> None:
    with app.app_context():
        assert StrapiSessions.state().limiter.namespace == "fss"
        assert StrapiSessions.state().settings.ratelimit_key_prefix == "fss"


@pytest.mark.parametrize("value", ["", "  ", "my app", 7])
def test_bad_key_prefix_is_refused(make_app: Callable[..., Flask], value: object) -> None:
    with pytest.raises(ConfigError, match="RATELIMIT_KEY_PREFIX"):
        make_app(RATELIMIT_KEY_PREFIX=value)
