"""Users: password hashing and the adapters that let any user model serve an origin.

The extension never touches a user model directly; it goes through a :class:`UserStore`.
The bundled stores work with the bundled models and with any model that has the same
attribute names (``id``, ``email``, ``password_hash``, ``blocked``, plus ``username`` for
the content API). For another shape, subclass and override the methods that differ.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import AdminUser, UpUser

MAX_PASSWORD_CHARS = 256
MAX_INTEGER_ID = 2**63 - 1
#: a plain e-mail shape check (the address is proven only by mail, which is out of scope)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
ADMIN_PASSWORD_MIN = 8


def admin_password_problem(password: str) -> str | None:
    """Why ``password`` fails Strapi's admin rule, or None when it passes.

    The rule: at least 8 characters with a lower-case letter, an upper-case letter and
    a digit. Shared by ``register-admin``, ``PUT /admin/users/me`` and the CLI.
    """
    if len(password) < ADMIN_PASSWORD_MIN:
        return f"must be at least {ADMIN_PASSWORD_MIN} characters"
    if not (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    ):
        return "must contain a lower-case letter, an upper-case letter and a number"
    return None


class PasswordHasher:
    """Argon2id at OWASP's recommended strength (19 MiB, 2 iterations, 1 lane).

    Verifying against a dummy hash when the user is unknown keeps failed logins for
    unknown users and wrong passwords equally slow.
    """

    def __init__(self, memory_cost: int = 19456, time_cost: int = 2, parallelism: int = 1):
        self._argon2 = _Argon2(
            memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism
        )
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """A new salted hash of ``password``."""
        return self._argon2.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; spends the same time when the hash is missing."""
        try:
            return self._argon2.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend a verification's time on nothing (unknown user)."""
        self.verify(None, password)


def iso_time(value: Any) -> str | None:
    """ISO-8601 UTC with milliseconds, from epoch ms or a datetime (Strapi's format)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_ms() -> int:
    return int(time.time() * 1000)


class UserStore:
    """How an origin finds, checks, creates and shows its users.

    Subclass to adapt a model whose attributes differ; every method takes the
    SQLAlchemy session so the store holds no request state.
    """

    public_fields: tuple[str, ...] = ()
    login_field = "email"

    def __init__(self, model: type[Any]):
        self.model = model

    def get(self, db: Session, user_id: str) -> Any | None:
        """The user with this id (as the string in tokens), or None."""
        try:
            key = int(user_id)
        except ValueError:
            return None
        if not 0 < key <= MAX_INTEGER_ID:  # out of the column's range: nobody
            return None
        return db.get(self.model, key)

    def find_for_login(self, db: Session, identifier: str) -> Any | None:
        """The user a login identifier names: the e-mail, compared case-insensitively.

        E-mails are stored lower-cased (registration and the CLI do it), so a plain
        equality on the lower-cased identifier finds them through the unique index.
        """
        user = db.execute(
            select(self.model).where(self.model.email == identifier.lower()).limit(1)
        ).scalar_one_or_none()
        # MySQL/MariaDB collations ignore trailing spaces: confirm the match here
        if user is None or str(user.email).lower() != identifier.lower():
            return None
        return user

    def user_id(self, user: Any) -> str:
        return str(user.id)

    def is_active(self, user: Any) -> bool:
        """False for a blocked or deactivated user: their sessions stop working."""
        return not getattr(user, "blocked", False) and getattr(user, "is_active", True)

    def roles_of(self, user: Any) -> set[str]:
        """Role names for ``login_required(roles=…)``: from ``user.roles`` or ``user.role``.

        A role may be a string or an object with ``code`` or ``name``.
        """
        roles = getattr(user, "roles", None)
        if roles is None:
            single = getattr(user, "role", None)
            roles = [single] if single is not None else []
        names = set()
        for role in roles:
            name = (
                role
                if isinstance(role, str)
                else getattr(role, "code", None) or getattr(role, "name", None)
            )
            if name:
                names.add(str(name))
        return names

    def password_hash(self, user: Any) -> str | None:
        return getattr(user, "password_hash", None)

    def set_password_hash(self, user: Any, password_hash: str) -> None:
        user.password_hash = password_hash
        self.touch(user)

    def touch(self, user: Any) -> None:
        """Record that the user changed (``updated_at``, when the model has it)."""
        if hasattr(user, "updated_at"):
            user.updated_at = _stamp_like(getattr(user, "updated_at", None))

    def to_json(self, user: Any) -> dict[str, Any]:
        """The public shape of a user: never a password hash or internal field."""
        data: dict[str, Any] = {}
        for field in self.public_fields:
            attr = _snake(field)
            if field in ("createdAt", "updatedAt", "publishedAt"):
                source = "created_at" if field == "publishedAt" else attr
                data[field] = iso_time(getattr(user, source, None))
            else:
                data[field] = getattr(user, attr, None)
        return data

    def exists_any(self, db: Session) -> bool:
        return db.execute(select(self.model.id).limit(1)).first() is not None

    def is_taken(self, db: Session, fields: dict[str, str]) -> bool:
        """True when another user already has this e-mail (or username)."""
        return self.find_for_login(db, fields["email"]) is not None

    def create(self, db: Session, fields: dict[str, Any], password_hash: str) -> Any:
        """Add a user; the caller commits. ``fields`` may fix the ``document_id``."""
        stamp = now_ms()
        fields = dict(fields)
        document_id = fields.pop("document_id", None) or secrets.token_hex(12)
        user = self.model(
            **fields,
            password_hash=password_hash,
            document_id=document_id,
            created_at=stamp,
            updated_at=stamp,
        )
        db.add(user)
        db.flush()
        return user


def _stamp_like(current: Any) -> Any:
    return datetime.now(UTC) if isinstance(current, datetime) else now_ms()


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


class ContentUserStore(UserStore):
    """Users of the content API: log in with e-mail (any case) or exact username."""

    public_fields = (
        "id",
        "documentId",
        "username",
        "email",
        "provider",
        "confirmed",
        "blocked",
        "createdAt",
        "updatedAt",
        "publishedAt",
    )

    def __init__(self, model: type[Any] = UpUser):
        super().__init__(model)

    def find_for_login(self, db: Session, identifier: str) -> Any | None:
        by_email = super().find_for_login(db, identifier)
        if by_email is not None:
            return by_email
        user = db.execute(
            select(self.model).where(self.model.username == identifier).limit(1)
        ).scalar_one_or_none()
        # the username must match exactly; MySQL/MariaDB collations ignore case
        if user is None or user.username != identifier:
            return None
        return user

    def is_taken(self, db: Session, fields: dict[str, str]) -> bool:
        return (
            super().find_for_login(db, fields["email"]) is not None
            or db.execute(
                select(self.model.id)
                .where(func.lower(self.model.username) == fields["username"].lower())
                .limit(1)
            ).first()
            is not None
        )


class AdminUserStore(UserStore):
    """Back-office users: log in with e-mail; ``isActive`` and ``blocked`` both count."""

    public_fields = (
        "id",
        "documentId",
        "firstname",
        "lastname",
        "username",
        "email",
        "isActive",
        "blocked",
        "preferedLanguage",
        "createdAt",
        "updatedAt",
        "publishedAt",
    )

    def __init__(self, model: type[Any] = AdminUser):
        super().__init__(model)

    def to_json(self, user: Any) -> dict[str, Any]:
        data = super().to_json(user)
        data["locale"] = None
        return data
