"""The check behind every protected request, built for speed without dropping any of it.

For an access token the guard must know, on every request, that the token is genuine and
unexpired, that its session row is active, inside its idle and absolute lifespans and
belongs to the token's user, and that this user still exists and is not blocked or
deactivated. :class:`SessionCheck` (one per origin) answers all of it with:

- a verified-token cache: a token's signature and claims never change, so a token seen
  before skips HMAC and JSON (its expiry is still compared with the clock every time);
- one Core query (no ORM) reading the session row LEFT JOINed to the user's flags, on a
  pooled connection of its own (on PostgreSQL in autocommit, so no BEGIN/ROLLBACK
  round trips), with the statement built once;
- in the opt-in ``*_SESSIONS_CHECK_INTERVAL`` mode only, a per-process
  :class:`~flask_strapi_sessions.session_cache.TrustCache` of those answers.

The single query is used when the user store keeps the inherited ``get`` and
``is_active`` and its model maps ``blocked`` / ``is_active`` (where present) to plain
columns on the same database; otherwise the store itself loads and judges the user, as it
always did. Nothing here imports Flask: the guard passes the Flask-SQLAlchemy session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from . import signals, tokens
from .config import OriginSettings
from .models import ACTIVE, StrapiSession
from .session_cache import BoundedDict, TrustCache
from .store import SessionStore
from .users import UserStore

Runner = Callable[[sa.Select[Any], Mapping[str, Any]], "Row[Any] | None"]

_SESSION_COLUMNS = tuple(
    (attr.key, attr.columns[0]) for attr in sa.inspect(StrapiSession).column_attrs
)
_SESSION_KEYS = tuple(key for key, _column in _SESSION_COLUMNS)
_USER_ID = _SESSION_KEYS.index("user_id")
_STATUS = _SESSION_KEYS.index("status")
_IDLE = _SESSION_KEYS.index("idle_expires_at")
_ABSOLUTE = _SESSION_KEYS.index("absolute_expires_at")
_NO_USER_COLUMNS = len(_SESSION_KEYS)

#: dialects whose drivers switch autocommit without a round trip: the check then costs
#: one round trip instead of three (BEGIN, SELECT, ROLLBACK on release)
_AUTOCOMMIT_DIALECTS = frozenset({"postgresql"})


@dataclass(frozen=True, slots=True)
class UserColumns:
    """How to judge a user in SQL: its primary key and the flags ``is_active`` reads."""

    table: sa.FromClause
    key: sa.ColumnElement[Any]
    blocked: sa.ColumnElement[Any] | None
    is_active: sa.ColumnElement[Any] | None

    def active(self, values: tuple[Any, ...]) -> bool:
        """``UserStore.is_active`` on the fetched ``(key, blocked?, is_active?)`` values."""
        position = 1
        blocked: Any = False
        if self.blocked is not None:
            blocked = values[position]
            position += 1
        active: Any = True
        if self.is_active is not None:
            active = values[position]
        return not blocked and bool(active)

    def selected(self) -> list[sa.ColumnElement[Any]]:
        return [c for c in (self.key, self.blocked, self.is_active) if c is not None]


def user_columns(store: UserStore) -> UserColumns | None:
    """The SQL form of ``store.get`` + ``store.is_active``, or None when only the store knows.

    Only for stores that inherit both methods: an override may judge users on anything,
    so its users are loaded and judged by the store itself.
    """
    cls = type(store)
    if cls.get is not UserStore.get or cls.is_active is not UserStore.is_active:
        return None
    mapper = sa.inspect(store.model, raiseerr=False)
    if mapper is None or len(mapper.primary_key) != 1:
        return None
    flags: dict[str, sa.ColumnElement[Any] | None] = {"blocked": None, "is_active": None}
    for name in flags:
        if not hasattr(store.model, name):
            continue
        prop = mapper.column_attrs.get(name)
        if prop is None or len(prop.columns) != 1:
            return None  # a property or expression: only an instance can tell
        flags[name] = prop.columns[0]
    return UserColumns(mapper.local_table, mapper.primary_key[0], **flags)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one query said about a session (``values``) and, when asked, its user."""

    values: tuple[Any, ...] | None  # the session row's columns; None in legacy mode
    user_active: bool | None  # None: the user store judges the user

    def session_live(self, user_id: str, now_ms: int) -> bool:
        values = self.values
        return (
            values is not None
            and values[_USER_ID] == user_id
            and values[_STATUS] == ACTIVE
            and now_ms < values[_IDLE]
            and now_ms < values[_ABSOLUTE]
        )

    def session_row(self) -> StrapiSession | None:
        """The session as a detached model instance, as :meth:`SessionStore.create` gives."""
        if self.values is None:
            return None
        row = StrapiSession(**dict(zip(_SESSION_KEYS, self.values, strict=True)))
        make_transient_to_detached(row)
        return row


class SessionCheck:
    """One origin's request check; see the module docstring. Built with the origin."""

    def __init__(self, settings: OriginSettings, sessions: SessionStore, users: UserStore):
        self.settings = settings
        self.sessions = sessions
        self.users = users
        self.secret = settings.secret
        self.audience = settings.origin
        self.kind: tokens.TokenKind = "access" if settings.sessions_enabled else "legacy"
        self.verified: BoundedDict[str, tokens.AccessClaims] = BoundedDict()
        interval = settings.session_check_interval
        self.trusted: TrustCache[str, Snapshot] | None = (
            TrustCache(interval, sessions.clock) if interval > 0 else None
        )
        self.user_sql = user_columns(users)
        self._runner: Runner | None = None
        self._session_query: sa.Select[Any] | None = None
        self._user_query: sa.Select[Any] | None = None
        if self.trusted is not None:
            signals.session_revoked.connect(self._forget_revoked, weak=True)

    # -- tokens ------------------------------------------------------------------------

    def claims(self, token: str, now: float) -> tokens.AccessClaims:
        """The claims of a genuine, unexpired token of this origin; else InvalidToken."""
        claims = self.verified.get(token)
        if claims is None:
            claims = tokens.verify_jwt(
                token, self.secret, kind=self.kind, audience=self.audience, now=now
            )
            self.verified.put(token, claims)
        elif now >= claims.expires_at:
            raise tokens.InvalidToken("time")
        return claims

    # -- the database ------------------------------------------------------------------

    def snapshot(self, db: Session, claims: tokens.AccessClaims) -> Snapshot | None:
        """The session (and user) state for ``claims``: trusted, or read now."""
        trusted = self.trusted
        if trusted is None:
            return self._read(db, claims)
        key = claims.session_id or f"user:{claims.user_id}"
        hit = trusted.get(key)
        if hit is not None:
            return hit
        read_at = trusted.clock()  # before the read: the bound counts from here
        found = self._read(db, claims)
        if found is not None:
            trusted.put(key, found, read_at)
        return found

    def _read(self, db: Session, claims: tokens.AccessClaims) -> Snapshot | None:
        runner = self._runner or self._prepare(db)
        user_sql = self.user_sql
        params: dict[str, Any] = {}
        if user_sql is not None:
            try:
                params["user_key"] = int(claims.user_id)  # as UserStore.get reads the id
            except ValueError:
                return None
        if claims.session_id is None:
            if user_sql is None:
                return Snapshot(None, None)
            assert self._user_query is not None
            row = runner(self._user_query, params)
            return None if row is None else Snapshot(None, user_sql.active(tuple(row)))
        assert self._session_query is not None
        params["session_id"] = claims.session_id
        row = runner(self._session_query, params)
        if row is None:
            return None
        values = tuple(row)
        if user_sql is None:
            return Snapshot(values, None)
        user = values[_NO_USER_COLUMNS:]
        active = user[0] is not None and user_sql.active(user)
        return Snapshot(values[:_NO_USER_COLUMNS], active)

    def _prepare(self, db: Session) -> Runner:
        """Build the statements and pick how to run them, once per app."""
        table = StrapiSession.__table__
        bind = db.get_bind(mapper=StrapiSession)
        user_sql = self.user_sql
        if user_sql is not None and db.get_bind(mapper=self.users.model) is not bind:
            user_sql = self.user_sql = None  # different databases: no join
        query = sa.select(*(column for _key, column in _SESSION_COLUMNS))
        source: sa.FromClause = table
        if user_sql is not None:
            query = query.add_columns(*user_sql.selected())
            source = table.outerjoin(user_sql.table, user_sql.key == sa.bindparam("user_key"))
            self._user_query = sa.select(*user_sql.selected()).where(
                user_sql.key == sa.bindparam("user_key")
            )
        self._session_query = query.select_from(source).where(
            table.c.session_id == sa.bindparam("session_id"),
            table.c.origin == self.settings.origin,
        )
        self._runner = _runner(db, bind)
        return self._runner

    def _forget_revoked(self, _sender: Any, **info: Any) -> None:
        """This worker revoked sessions: refuse them here at once, not after the interval."""
        if info.get("origin") == self.settings.origin and self.trusted is not None:
            for session_id in info.get("session_ids", ()):
                self.trusted.discard(session_id)


def _runner(db: Session, bind: Engine | Connection) -> Runner:
    """Run the check on a short-lived pooled connection of its own when that is safe.

    Not when the app's session is tied to one connection (a test wrapping everything in
    an outer transaction, or a pool of one shared connection, as for ``sqlite://``):
    there the check must see what that connection sees, so it goes through the session.
    """
    pooled = (
        isinstance(bind, Engine)
        and not isinstance(bind.pool, StaticPool | SingletonThreadPool)
        and not isinstance(getattr(db, "bind", None), Connection)
    )
    if not pooled:

        def through_session(query: sa.Select[Any], params: Mapping[str, Any]) -> Row[Any] | None:
            return db.execute(query, params).first()

        return through_session
    assert isinstance(bind, Engine)
    engine = (
        bind.execution_options(isolation_level="AUTOCOMMIT")
        if bind.dialect.name in _AUTOCOMMIT_DIALECTS
        else bind
    )

    def own_connection(query: sa.Select[Any], params: Mapping[str, Any]) -> Row[Any] | None:
        with engine.connect() as connection:
            return connection.execute(query, params).first()

    return own_connection
