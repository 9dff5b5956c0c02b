"""Session rows: create, rotate, check, revoke, list, purge.

No Flask here: every method takes the SQLAlchemy session to use, and time comes from the
injected clock. Each write commits its own transaction, so a rotation is either wholly
done or not done at all, on every database.

Rotation is a compare-and-set: ``UPDATE … WHERE token_hash = <presented>``. Of several
concurrent refreshes with the same token exactly one updates the row; the others re-read
it in a fresh transaction and get the grace answer (the same successor) or a refusal.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import tokens
from .config import OriginSettings
from .models import ACTIVE, REVOKED, StrapiSession

Clock = Callable[[], float]

# revocation reasons
LOGOUT = "logout"
PASSWORD_CHANGE = "password-change"  # noqa: S105 (a reason, not a secret)
REUSE = "reuse-detected"
OPERATOR = "operator"
USER_BLOCKED = "user-blocked"
REVOKED_BY_USER = "revoked-by-user"

#: a reissue that keeps losing to concurrent refreshes of its session gives up after this
REISSUE_ATTEMPTS = 5

#: revoked rows are kept this long for auditing before purge removes them
REVOKED_RETENTION_MS = 7 * 86400 * 1000


class RefreshRefused(Exception):
    """The refresh token is unknown, expired, revoked or already used."""

    def __init__(self, reused_session: StrapiSession | None = None):
        super().__init__("invalid refresh token")
        self.reused_session = reused_session


@dataclass(frozen=True)
class Issued:
    """A session and the refresh token that now belongs to it."""

    session: StrapiSession
    refresh_token: str
    grace: bool = False


class SessionStore:
    """Session rows of one origin."""

    def __init__(self, settings: OriginSettings, clock: Clock):
        self.settings = settings
        self.origin = settings.origin
        self.clock = clock

    def now_ms(self) -> int:
        # round, not truncate: (1800000000.1 + 10.001) * 1000 is 1800000010100.9998
        return round(self.clock() * 1000)

    # -- create ----------------------------------------------------------------

    def create(
        self,
        db: Session,
        *,
        user_id: str,
        device_id: str,
        remember: bool = True,
        device_name: str | None = None,
        user_agent: str | None = None,
        ip: str | None = None,
    ) -> Issued:
        """Open a session; ``remember`` picks the refresh lifespans, else the session ones."""
        now = self.now_ms()
        idle, maximum = self.settings.lifespans(remember)
        session_id = tokens.new_session_id()
        refresh_token = tokens.new_refresh_token(self.settings.secret, session_id, 0)
        row = StrapiSession(
            session_id=session_id,
            origin=self.origin,
            user_id=user_id,
            device_id=device_id,
            device_name=device_name,
            type="refresh" if remember else "session",
            status=ACTIVE,
            generation=0,
            token_hash=tokens.hash_refresh_token(refresh_token),
            created_at=now,
            last_used_at=now,
            idle_expires_at=now + idle * 1000,
            absolute_expires_at=now + maximum * 1000,
            user_agent=(user_agent or "").replace("\x00", "")[:512] or None,
            ip=(ip or "")[:64] or None,
        )
        db.add(row)
        db.flush()
        db.expunge(row)  # detached: its values stay readable after the commit
        db.commit()
        return Issued(row, refresh_token)

    # -- rotate ----------------------------------------------------------------

    def _idle_ms(self, row: StrapiSession) -> int:
        idle, _ = self.settings.lifespans(row.type == "refresh")
        return idle * 1000

    def _load_detached(self, db: Session, session_id: str) -> StrapiSession | None:
        """Read a row in its own short transaction and detach it.

        Ending the transaction matters: under REPEATABLE READ (MariaDB) a re-read in the
        same transaction would not see a concurrent rotation that already committed.
        """
        row = db.execute(
            select(StrapiSession)
            .where(StrapiSession.session_id == session_id, StrapiSession.origin == self.origin)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is not None:
            db.expunge(row)
        db.rollback()
        return row

    def rotate(self, db: Session, presented: str) -> Issued:
        """Consume ``presented`` and return the session with its next refresh token.

        Raises :class:`RefreshRefused`; ``reused_session`` is set when the token was a
        genuine ancestor presented outside the grace window and the session was revoked.
        """
        try:
            parsed = tokens.parse_refresh_token(self.settings.secret, presented)
        except tokens.InvalidToken:
            raise RefreshRefused() from None
        row = self._load_detached(db, parsed.session_id)
        if row is None:
            raise RefreshRefused()
        now = self.now_ms()
        if not row.is_live(now):
            raise RefreshRefused()
        if hmac.compare_digest(row.token_hash, parsed.token_hash):
            successor = self._advance(db, row, now, presented=presented)
            if successor is not None:
                return Issued(row, successor)
            # another request rotated first: look at what it left
            row = self._load_detached(db, parsed.session_id)
            if row is None:
                raise RefreshRefused()
        return self._after_lost_race(db, row, parsed, presented, now)

    def _advance(
        self, db: Session, row: StrapiSession, now: int, *, presented: str | None
    ) -> str | None:
        """Move ``row`` to its next refresh token by compare-and-set, in its own transaction.

        The UPDATE only matches while the row still holds the token hash that was read,
        so of several concurrent callers exactly one wins; the others get None. With
        ``presented`` (a refresh) the grace window is armed with the sealed successor;
        without it (a reissue) there is no grace: nothing was presented to seal it with.
        Returns the new refresh token, and updates the detached ``row`` to match.
        """
        successor = tokens.new_refresh_token(
            self.settings.secret, row.session_id, row.generation + 1
        )
        new_idle = min(now + self._idle_ms(row), row.absolute_expires_at)
        result = db.execute(
            update(StrapiSession)
            .where(
                StrapiSession.id == row.id,
                StrapiSession.token_hash == row.token_hash,
                StrapiSession.status == ACTIVE,
            )
            .values(
                token_hash=tokens.hash_refresh_token(successor),
                previous_token_hash=row.token_hash if presented else None,
                successor_sealed=tokens.seal_successor(presented, successor) if presented else None,
                generation=StrapiSession.generation + 1,
                rotated_at=now,
                last_used_at=now,
                idle_expires_at=new_idle,
            )
            .execution_options(synchronize_session=False)
        )
        db.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row.generation += 1
        row.idle_expires_at = new_idle
        row.last_used_at = row.rotated_at = now
        return successor

    def _in_grace(self, row: StrapiSession, parsed: tokens.RefreshToken, now: int) -> bool:
        """``parsed`` is the token this row rotated away from, and the grace window is open."""
        return (
            self.settings.rotation_grace > 0  # 0 disables grace, even within the same ms
            and row.previous_token_hash is not None
            and hmac.compare_digest(row.previous_token_hash, parsed.token_hash)
            and row.rotated_at is not None
            and row.successor_sealed is not None
            and now - row.rotated_at <= self.settings.rotation_grace * 1000
        )

    def _after_lost_race(
        self,
        db: Session,
        row: StrapiSession,
        parsed: tokens.RefreshToken,
        presented: str,
        now: int,
    ) -> Issued:
        """The token is not the current one: grace answer, reuse, or plain refusal."""
        if row.status != ACTIVE:
            raise RefreshRefused()
        if self._in_grace(row, parsed, now) and row.successor_sealed is not None:
            return Issued(row, tokens.open_successor(presented, row.successor_sealed), grace=True)
        if parsed.generation <= row.generation:
            self.revoke(db, [row.session_id], REUSE)
            raise RefreshRefused(reused_session=row)
        raise RefreshRefused()

    # -- check -----------------------------------------------------------------

    def session_for_token(self, db: Session, presented: str) -> StrapiSession | None:
        """The live session a refresh token belongs to: its current token, or the one it
        rotated away from while the grace window is open. A spent token names nothing."""
        try:
            parsed = tokens.parse_refresh_token(self.settings.secret, presented)
        except tokens.InvalidToken:
            return None
        row = self._load_detached(db, parsed.session_id)
        now = self.now_ms()
        if row is None or not row.is_live(now):
            return None
        if hmac.compare_digest(row.token_hash, parsed.token_hash):
            return row
        return row if self._in_grace(row, parsed, now) else None

    def reissue(self, db: Session, session_id: str) -> Issued:
        """Give a live session a new refresh token without one being presented.

        Used after a password change: the current device keeps its session, the old
        refresh token becomes an ancestor (presenting it later counts as reuse).
        """
        for _attempt in range(REISSUE_ATTEMPTS):
            row = self._load_detached(db, session_id)
            now = self.now_ms()
            if row is None or not row.is_live(now):
                raise RefreshRefused()
            successor = self._advance(db, row, now, presented=None)
            if successor is not None:
                return Issued(row, successor)
            # a refresh of this session rotated in between: start again from its result
        raise RefreshRefused()

    # -- revoke ----------------------------------------------------------------

    def revoke(self, db: Session, session_ids: Sequence[str], reason: str) -> list[str]:
        """Revoke these sessions of this origin; return the ids that were live."""
        if not session_ids:
            return []
        live = list(
            db.execute(
                select(StrapiSession.session_id).where(
                    StrapiSession.session_id.in_(list(session_ids)),
                    StrapiSession.origin == self.origin,
                    StrapiSession.status == ACTIVE,
                )
            ).scalars()
        )
        if live:
            db.execute(
                update(StrapiSession)
                .where(
                    StrapiSession.session_id.in_(live),
                    StrapiSession.origin == self.origin,
                    StrapiSession.status == ACTIVE,
                )
                .values(
                    status=REVOKED,
                    revoked_at=self.now_ms(),
                    revoked_reason=reason,
                    successor_sealed=None,
                )
                .execution_options(synchronize_session=False)
            )
        db.commit()
        return live

    def sessions_of(
        self, db: Session, user_id: str, *, device_id: str | None = None
    ) -> list[StrapiSession]:
        """The user's live sessions in this origin (or on one device), most recent use first."""
        query = select(StrapiSession).where(
            StrapiSession.user_id == user_id,
            StrapiSession.origin == self.origin,
            StrapiSession.status == ACTIVE,
        )
        if device_id is not None:
            query = query.where(StrapiSession.device_id == device_id)
        now = self.now_ms()
        rows = db.execute(query.order_by(StrapiSession.last_used_at.desc())).scalars()
        return [row for row in rows if row.is_live(now)]

    def revoke_user(
        self,
        db: Session,
        user_id: str,
        reason: str,
        *,
        device_id: str | None = None,
        keep: str | None = None,
    ) -> list[str]:
        """Revoke the user's sessions (one device's, or all but ``keep``)."""
        query = select(StrapiSession.session_id).where(
            StrapiSession.user_id == user_id,
            StrapiSession.origin == self.origin,
            StrapiSession.status == ACTIVE,
        )
        if device_id is not None:
            query = query.where(StrapiSession.device_id == device_id)
        ids = [sid for sid in db.execute(query).scalars() if sid != keep]
        return self.revoke(db, ids, reason)

    # -- purge -----------------------------------------------------------------

    def purge(self, db: Session, *, batch_size: int = 1000, max_batches: int | None = None) -> int:
        """Delete expired rows and rows revoked long ago, in batches; return how many.

        Each batch is at most ``batch_size`` rows deleted in its own short transaction,
        so memory stays bounded and logins are never locked out for long.
        """
        removed = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            ids = self._purgeable_ids(db, batch_size)
            if not ids:
                break
            result = db.execute(
                delete(StrapiSession)
                .where(StrapiSession.id.in_(ids))
                .execution_options(synchronize_session=False)
            )
            db.commit()
            # a concurrent purge may have taken some of these rows already
            removed += result.rowcount  # type: ignore[attr-defined]
            batches += 1
        db.rollback()
        return removed

    def _purgeable_ids(self, db: Session, limit: int) -> list[int]:
        """Ids of up to ``limit`` rows to purge.

        One query per condition, each a range on its own indexed column: a single query
        OR-ing the three makes some planners scan the whole table.
        """
        now = self.now_ms()
        conditions = (
            StrapiSession.idle_expires_at <= now,
            StrapiSession.absolute_expires_at <= now,
            StrapiSession.revoked_at <= now - REVOKED_RETENTION_MS,
        )
        ids: dict[int, None] = {}
        for condition in conditions:
            wanted = limit - len(ids)
            if wanted <= 0:
                break
            found = db.execute(
                select(StrapiSession.id)
                .where(condition, StrapiSession.origin == self.origin)
                .limit(wanted)
            ).scalars()
            ids.update(dict.fromkeys(found))
        return list(ids)
