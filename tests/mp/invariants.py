"""Checks made directly in the database after a race: what the session rows must look like."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from flask_strapi_sessions.tokens import hash_refresh_token
from tests.mp.server import Answer


def session_id_of(refresh_token: str) -> str:
    return refresh_token.split(".", 1)[0]


def session_rows(engine: sa.Engine, session_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(
            sa.text("SELECT * FROM strapi_sessions WHERE session_id = :sid"), {"sid": session_id}
        )
        return [dict(row._mapping) for row in result]


def session_row(engine: sa.Engine, session_id: str) -> dict[str, Any]:
    """The session's row; a session is exactly one row for its whole life."""
    rows = session_rows(engine, session_id)
    assert len(rows) == 1, f"session {session_id} has {len(rows)} rows"
    return rows[0]


def assert_live_on(engine: sa.Engine, refresh_token: str) -> dict[str, Any]:
    """The session is active and ``refresh_token`` is its one current token."""
    row = session_row(engine, session_id_of(refresh_token))
    assert row["status"] == "active", row
    assert row["token_hash"] == hash_refresh_token(refresh_token)
    assert row["generation"] == int(refresh_token.split(".")[1])
    return row


def assert_revoked(engine: sa.Engine, session_id: str, reason: str) -> dict[str, Any]:
    """Revoked for ``reason`` and holding nothing that could still be handed out."""
    row = session_row(engine, session_id)
    assert (row["status"], row["revoked_reason"]) == ("revoked", reason), row
    assert row["revoked_at"] is not None
    assert row["successor_sealed"] is None
    return row


def assert_no_clear_tokens(engine: sa.Engine, refresh_tokens: Iterable[str]) -> None:
    """No refresh token (nor its random part) is stored anywhere, in any column of any row."""
    needles = set()
    for token in refresh_tokens:
        needles.add(token)
        needles.add(token.split(".")[2])
    assert needles
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                for value in row:
                    text = (
                        value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    )
                    for needle in needles:
                        assert needle not in text, f"a refresh token is stored in clear in {table}"


def assert_no_server_errors(answers: Iterable[Answer]) -> None:
    """Nothing answered 5xx: a race is never an outage."""
    failures = [(a.status, a.body) for a in answers if a.status >= 500]
    assert not failures, failures


def assert_one_successor_each(rotations: Iterable[tuple[str, str]]) -> None:
    """Every rotated token has exactly one successor, however many times it was presented.

    ``rotations``: ``(presented, successor)`` for every 200 answer of a refresh.
    """
    found: dict[str, set[str]] = defaultdict(set)
    for presented, successor in rotations:
        found[presented].add(successor)
    assert found
    for presented, issued in found.items():
        assert presented not in issued
        assert len(issued) == 1, f"{presented[:20]}… forked into {len(issued)} successors"
