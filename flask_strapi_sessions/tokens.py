"""Access, legacy and refresh tokens: sign, verify, hash. Pure: no Flask, no clock.

Access and legacy tokens are HS256 JWTs. Verification is one function,
:func:`verify_jwt`, with an exact allow-list: header ``alg`` must be ``HS256`` (case
sensitive), ``crit`` is refused, the size is capped before anything is decoded, every
required claim must be present with the right type, and every failure raises the same
:class:`InvalidToken`. PyJWT signs; the test suite cross-checks both directions.

Refresh tokens are opaque: ``<sessionId>.<generation>.<256 random bits>.<mac>``. Only a
SHA-256 of the whole token is stored. The MAC (itsdangerous, keyed by the origin's
secret) lets the store tell a genuine, already-rotated ancestor (reuse: revoke the
session) from a forgery (just refuse) without keeping every ancestor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from itsdangerous import BadSignature, Signer

MAX_TOKEN_BYTES = 4096
# claim shapes, checked before any value reaches a database: ids are short and plain
_USER_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SESSION_ID = re.compile(r"[0-9a-f]{32}")
ACCESS = "access"
LEGACY = "legacy"
TokenKind = Literal["access", "legacy"]

_HEADER_B64 = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}
_ALLOWED_HEADER_KEYS = frozenset({"alg", "typ", "kid"})
_REFRESH_SALT = b"flask-strapi-sessions.refresh-token"


class InvalidToken(Exception):
    """Any verification failure; callers answer a uniform 401."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """A verified token's claims. ``session_id`` is None for a legacy token."""

    user_id: str
    session_id: str | None
    issued_at: int
    expires_at: int


def _b64decode(segment: str) -> bytes:
    if not segment or "=" in segment:
        raise InvalidToken("bad encoding")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidToken("bad encoding") from None


def _load_json(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise InvalidToken("bad json") from None
    if not isinstance(value, dict):
        raise InvalidToken("not an object")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sign_access(
    secret: str, *, user_id: str, session_id: str, audience: str, now: int, expires_at: int
) -> str:
    """An access token for one session; ``expires_at`` is already capped by the caller."""
    payload = {
        "userId": user_id,
        "sessionId": session_id,
        "type": ACCESS,
        "aud": audience,
        "iat": now,
        "exp": expires_at,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def sign_legacy(secret: str, *, user_id: int | str, now: int, expires_in: int) -> str:
    """A Strapi ``legacy-support`` token: ``{id, iat, exp}``."""
    return jwt.encode(
        {"id": user_id, "iat": now, "exp": now + expires_in}, secret, algorithm="HS256"
    )


def verify_jwt(
    token: str, secret: str, *, kind: TokenKind, audience: str, now: float
) -> AccessClaims:
    """Verify an access or legacy token and return its claims, or raise InvalidToken."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_BYTES or not token.isascii():
        raise InvalidToken("size")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("structure")
    header_b64, payload_b64, signature_b64 = parts
    if header_b64 != _HEADER_B64:
        header = _load_json(header_b64)
        if header.get("alg") != "HS256" or not set(header) <= _ALLOWED_HEADER_KEYS:
            raise InvalidToken("header")
        if header.get("typ", "JWT") != "JWT":
            raise InvalidToken("header")
    # Compare encoded forms: only the canonical unpadded base64url of the MAC passes (no
    # padding, no stray characters, no variant in the spare bits of the last character).
    signing_input = token[: len(header_b64) + len(payload_b64) + 1].encode("ascii")
    mac = hmac.digest(secret.encode(), signing_input, "sha256")
    expected = base64.urlsafe_b64encode(mac).rstrip(b"=")
    if not hmac.compare_digest(expected, signature_b64.encode("ascii")):
        raise InvalidToken("signature")
    claims = _load_json(payload_b64)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool):
        raise InvalidToken("time")
    if isinstance(iat, bool) or now >= exp:
        raise InvalidToken("time")
    if kind == ACCESS:
        user_id, session_id = claims.get("userId"), claims.get("sessionId")
        if (
            claims.get("type") != ACCESS
            or claims.get("aud") != audience
            or not isinstance(user_id, str)
            or not isinstance(session_id, str)
            or not _USER_ID.fullmatch(user_id)
            or not _SESSION_ID.fullmatch(session_id)
        ):
            raise InvalidToken("claims")
        return AccessClaims(user_id, session_id, iat, exp)
    legacy_id = claims.get("id")
    if "type" in claims or "sessionId" in claims or "aud" in claims:
        raise InvalidToken("claims")
    if _is_int(legacy_id):
        legacy_id = str(legacy_id)
    if not isinstance(legacy_id, str) or not _USER_ID.fullmatch(legacy_id):
        raise InvalidToken("claims")
    return AccessClaims(legacy_id, None, iat, exp)


# -- refresh tokens -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A parsed refresh token whose MAC checked out."""

    session_id: str
    generation: int
    token_hash: str


def _signer(secret: str) -> Signer:
    return Signer(secret, salt=_REFRESH_SALT, digest_method=hashlib.sha256)


def new_session_id() -> str:
    """A public session id: 128 random bits as 32 hex characters (Strapi's shape)."""
    return secrets.token_hex(16)


def new_refresh_token(secret: str, session_id: str, generation: int) -> str:
    """A fresh opaque refresh token for ``generation`` of ``session_id``."""
    body = f"{session_id}.{generation}.{secrets.token_urlsafe(32)}"
    return _signer(secret).sign(body).decode("ascii")


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_refresh_token(secret: str, token: str) -> RefreshToken:
    """Check a refresh token's MAC and shape; raise InvalidToken when it is not ours."""
    if not isinstance(token, str) or not 0 < len(token) <= 512 or not token.isascii():
        raise InvalidToken("size")
    signer = _signer(secret)
    try:
        body = signer.unsign(token).decode("ascii")
    except BadSignature:
        raise InvalidToken("signature") from None
    # base64 leaves spare bits in the MAC's last character: several strings carry the
    # same MAC. Only the one we issued counts, or a variant could pass for an ancestor.
    if not hmac.compare_digest(signer.sign(body).decode("ascii"), token):
        raise InvalidToken("signature")
    session_id, generation, _random = body.split(".")
    return RefreshToken(session_id, int(generation), hash_refresh_token(token))


def seal_successor(previous_token: str, successor: str) -> str:
    """Encrypt ``successor`` with a key only the holder of ``previous_token`` can derive.

    Lets the grace window hand back the *same* successor without storing it in clear:
    the key stream is SHAKE-256 of the previous token, which itself is never stored.
    """
    data = successor.encode()
    stream = hashlib.shake_256(b"grace:" + previous_token.encode()).digest(len(data))
    return base64.urlsafe_b64encode(
        bytes(a ^ b for a, b in zip(data, stream, strict=True))
    ).decode()


def open_successor(previous_token: str, sealed: str) -> str:
    """Inverse of :func:`seal_successor`."""
    data = base64.urlsafe_b64decode(sealed)
    stream = hashlib.shake_256(b"grace:" + previous_token.encode()).digest(len(data))
    return bytes(a ^ b for a, b in zip(data, stream, strict=True)).decode()
