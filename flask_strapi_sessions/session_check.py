"""The check behind every protected request, built for speed without dropping any of it.

For an access token the guard must know, on every request, that the token is genuine and
unexpired, that its session row is active, inside its idle and absolute lifespans and
belongs to the token's user, and that this user still exists and is not blocked or
deactivated. :class:`SessionCheck` (one per origin) answers all of it with:

- a verified-token cache: a token's signature and claims never change, so a token seen
  before skips HMAC and JSON (its expiry is still compared with the clock every time);
- one SELECT (no ORM) of the session row LEFT JOINed to the user's flags, compiled once
  and run by :class:`~flask_strapi_sessions.prepared.PreparedSelect` on a pooled
  connection of its own, so every request reads what is committed now — a revocation
  by any worker is seen on the very next request;
- in the opt-in ``*_SESSIONS_CHECK_INTERVAL`` mode only, a per-process
  :class:`~flask_strapi_sessions.session_cache.TrustCache` of those answers: a worker
  trusts an answer for at most the interval, so a revocation reaches every worker
  within it. Token expiry and the session's lifespans are still compared with the clock
  on every request.

The single query is used when the user store keeps the inherited ``get`` and
``is_active`` and its model maps ``blocked`` / ``is_active`` (where present) to plain
columns on the same database; otherwise the store itself loads and judges the user, as it
always did. The user *object* behind ``current_user`` is loaded only when a view reads it.
Nothing here imports Flask: the guard passes the app state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from . import signals, tokens
from .config import OriginSettings
from .models import ACTIVE, StrapiSession
from .prepared import PreparedSelect, SessionSelect
from .session_cache import BoundedDict, TrustCache
from .store import SessionStore
from .users import MAX_INTEGER_ID, UserStore

Select = PreparedSelect | SessionSelect


class HasSession(Protocol):
    """Anything with the app's ORM session as ``.session`` (the app state)."""

    @property
    def session(self) -> Session: ...


#: only what the check needs (fewer columns measurably cost less on every request); the
#: full row behind ``current_session`` is loaded by primary key when a view reads it
_SESSION_COLUMNS = ("id", "user_id", "status", "idle_expires_at", "absolute_expires_at")
_KEY, _USER_ID, _STATUS, _IDLE, _ABSOLUTE = range(len(_SESSION_COLUMNS))
_NO_USER_COLUMNS = len(_SESSION_COLUMNS)


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

    values: tuple[Any, ...] | None  # the session columns checked; None in legacy mode
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

    @property
    def session_key(self) -> Any:
        """The session row's primary key (None in legacy mode)."""
        return None if self.values is None else self.values[_KEY]


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
        self._selects: tuple[Select, Select | None] | None = None
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

    def snapshot(self, db: HasSession, claims: tokens.AccessClaims, now: float) -> Snapshot | None:
        """The session (and user) state for ``claims`` at ``now``: trusted, or read now.

        ``db`` gives the app's ORM session (``.session``), used only if a read is
        needed. ``now`` must be taken before this call: a fresh answer is trusted from
        then on.
        """
        trusted = self.trusted
        if trusted is None:
            return self._read(db.session, claims)
        key = claims.session_id or f"user:{claims.user_id}"
        hit = trusted.get(key, now)
        if hit is not None:
            return hit
        found = self._read(db.session, claims)
        if found is not None:
            trusted.put(key, found, now)
        return found

    def _read(self, db: Session, claims: tokens.AccessClaims) -> Snapshot | None:
        session_select, user_select = self._selects or self._prepare(db)
        user_sql = self.user_sql
        params: dict[str, Any] = {}
        if user_sql is not None:
            try:
                params["user_key"] = int(claims.user_id)  # as UserStore.get reads the id
            except ValueError:
                return None
            if not 0 < params["user_key"] <= MAX_INTEGER_ID:  # no such row can exist
                return None
        if claims.session_id is None:
            if user_select is None or user_sql is None:
                return Snapshot(None, None)
            user = user_select.first(params)
            return None if user is None else Snapshot(None, user_sql.active(user))
        params["session_id"] = claims.session_id
        row = session_select.first(params)
        if row is None:
            return None
        if user_sql is None:
            return Snapshot(row, None)
        user = row[_NO_USER_COLUMNS:]
        active = user[0] is not None and user_sql.active(user)
        return Snapshot(row[:_NO_USER_COLUMNS], active)

    def _prepare(self, db: Session) -> tuple[Select, Select | None]:
        """Build the statements and pick how to run them, once per app."""
        table = StrapiSession.__table__
        bind = db.get_bind(mapper=StrapiSession)
        user_sql = self.user_sql
        if user_sql is not None and db.get_bind(mapper=self.users.model) is not bind:
            user_sql = self.user_sql = None  # different databases: no join
        query = sa.select(*(table.c[name] for name in _SESSION_COLUMNS))
        source: sa.FromClause = table
        user_select = None
        if user_sql is not None:
            query = query.add_columns(*user_sql.selected())
            source = table.outerjoin(user_sql.table, user_sql.key == sa.bindparam("user_key"))
            user_query = sa.select(*user_sql.selected()).where(
                user_sql.key == sa.bindparam("user_key")
            )
            user_select = _select(db, bind, user_query)
        session_query = query.select_from(source).where(
            table.c.session_id == sa.bindparam("session_id"),
            table.c.origin == self.settings.origin,
        )
        self._selects = (_select(db, bind, session_query), user_select)
        return self._selects

    def _forget_revoked(self, _sender: Any, **info: Any) -> None:
        """This worker revoked sessions: refuse them here at once, not after the interval."""
        if info.get("origin") == self.settings.origin and self.trusted is not None:
            for session_id in info.get("session_ids", ()):
                self.trusted.discard(session_id)


def _select(db: Session, bind: Engine | Connection, query: sa.Select[Any]) -> Select:
    """Run ``query`` on a pooled connection of its own when that is safe.

    Not when the app's session is tied to one connection (a test wrapping everything in
    an outer transaction, or a pool of one shared connection, as for ``sqlite://``):
    there the check must see what that connection sees, so it goes through the session.
    """
    if (
        isinstance(bind, Engine)
        and not isinstance(bind.pool, StaticPool | SingletonThreadPool)
        and not isinstance(getattr(db, "bind", None), Connection)
    ):
        return PreparedSelect(bind, query)
    return SessionSelect(db, query)
