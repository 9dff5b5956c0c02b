"""Tokens (SPEC §3): every bad bearer token is a uniform 401, and the token module itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from flask_strapi_sessions import StrapiSession
from flask_strapi_sessions.tokens import (
    InvalidToken,
    hash_refresh_token,
    new_refresh_token,
    new_session_id,
    open_successor,
    parse_refresh_token,
    seal_successor,
    sign_access,
    sign_legacy,
    verify_jwt,
)
from tests.support import (
    ADMIN_SECRET,
    START,
    UP_SECRET,
    FakeClock,
    admin_login,
    bearer,
    register,
    register_admin,
    set_cookies,
)

UP = "users-permissions"
ADMIN = "admin"
ME = {UP: "/api/users/me", ADMIN: "/admin/users/me"}
SECRET = {UP: UP_SECRET, ADMIN: ADMIN_SECRET}
OTHER = {UP: ADMIN, ADMIN: UP}
UNAUTHORIZED = {
    "data": None,
    "error": {
        "status": 401,
        "name": "UnauthorizedError",
        "message": "Missing or invalid credentials",
        "details": {},
    },
}
HS256 = {"alg": "HS256", "typ": "JWT"}


# -- helpers ----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def forge(
    secret: str, claims: Any, header: Any = HS256, digest: Callable[..., Any] = hashlib.sha256
) -> str:
    """A JWT signed by hand, so headers and claims can be anything at all."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def assert_refused(response: TestResponse) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/json"


@pytest.fixture
def tokens(client: FlaskClient) -> dict[str, str]:
    """A valid access token of each origin (content API in refresh mode)."""
    up = register(client).get_json()["jwt"]
    register_admin(client)
    admin = admin_login(client).get_json()["data"]["token"]
    return {UP: up, ADMIN: admin}


# -- each bad token, on both origins ------------------------------------------------------

Mutation = Callable[[str, str, dict[str, Any]], str]


def _tamper_payload(token: str, secret: str, claims: dict[str, Any]) -> str:
    header, _payload, signature = token.split(".")
    return f"{header}.{segment({**claims, 'userId': '999'})}.{signature}"


def _tamper_signature(token: str, secret: str, claims: dict[str, Any]) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


def _without(name: str) -> Mutation:
    def mutate(token: str, secret: str, claims: dict[str, Any]) -> str:
        return forge(secret, {k: v for k, v in claims.items() if k != name})

    return mutate


def _with_claims(**changes: Any) -> Mutation:
    def mutate(token: str, secret: str, claims: dict[str, Any]) -> str:
        return forge(secret, {**claims, **changes})

    return mutate


def _with_header(header: dict[str, Any], *, signed: bool = True) -> Mutation:
    def mutate(token: str, secret: str, claims: dict[str, Any]) -> str:
        forged = forge(secret, claims, header)
        return forged if signed else forged.rsplit(".", 1)[0] + "."

    return mutate


def _other_hmac(algorithm: str, digest: Callable[..., Any]) -> Mutation:
    """Correctly signed with the right secret, but with another HMAC algorithm."""

    def mutate(token: str, secret: str, claims: dict[str, Any]) -> str:
        return forge(secret, claims, {"alg": algorithm, "typ": "JWT"}, digest)

    return mutate


def _constant(value: str) -> Mutation:
    return lambda token, secret, claims: value


BAD_TOKENS: dict[str, Mutation] = {
    "tampered-payload": _tamper_payload,
    "tampered-signature": _tamper_signature,
    "signature-stripped": lambda token, secret, claims: token.rsplit(".", 1)[0] + ".",
    "alg-none-unsigned": _with_header({"alg": "none", "typ": "JWT"}, signed=False),
    "alg-None-unsigned": _with_header({"alg": "None", "typ": "JWT"}, signed=False),
    "alg-NONE-unsigned": _with_header({"alg": "NONE", "typ": "JWT"}, signed=False),
    "alg-nOnE-unsigned": _with_header({"alg": "nOnE"}, signed=False),
    "alg-none-with-valid-mac": _with_header({"alg": "none", "typ": "JWT"}),
    "alg-lowercase-hs256": _with_header({"alg": "hs256", "typ": "JWT"}),
    "alg-missing": _with_header({"typ": "JWT"}),
    "HS384-right-secret": _other_hmac("HS384", hashlib.sha384),
    "HS512-right-secret": _other_hmac("HS512", hashlib.sha512),
    "HS512-header-HS256-mac": _with_header({"alg": "HS512", "typ": "JWT"}),
    "crit-header": _with_header({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}),
    "embedded-jwk-header": _with_header({"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}}),
    "typ-not-jwt": _with_header({"alg": "HS256", "typ": "JWE"}),
    "header-not-object": _with_header(["HS256"]),  # type: ignore[arg-type]
    "exp-missing": _without("exp"),
    "exp-string": lambda token, secret, claims: forge(
        secret, {**claims, "exp": str(claims["exp"])}
    ),
    "exp-float": lambda token, secret, claims: forge(
        secret, {**claims, "exp": claims["exp"] + 0.5}
    ),
    "exp-bool": _with_claims(exp=True),
    "exp-null": _with_claims(exp=None),
    "iat-missing": _without("iat"),
    "iat-bool": _with_claims(iat=True),
    "type-missing": _without("type"),
    "type-refresh": _with_claims(type="refresh"),
    "aud-missing": _without("aud"),
    "userId-missing": _without("userId"),
    "userId-integer": lambda token, secret, claims: forge(
        secret, {**claims, "userId": int(claims["userId"])}
    ),
    "sessionId-missing": _without("sessionId"),
    "sessionId-unknown": _with_claims(sessionId="0" * 32),
    # correctly signed, odd shapes: refused before any value reaches the database
    "userId-beyond-bigint": _with_claims(userId="9" * 20),
    "userId-with-nul": _with_claims(userId="1\u0000"),
    "sessionId-lone-surrogate": _with_claims(sessionId="\ud800" * 32),
    "sessionId-with-nul": _with_claims(sessionId="0" * 31 + "\u0000"),
    "sessionId-not-hex": _with_claims(sessionId="z" * 32),
    "payload-not-object": lambda token, secret, claims: forge(secret, [claims]),
    "payload-not-json": lambda token, secret, claims: (
        f"{segment(HS256)}.{b64(b'not json')}."
        + b64(
            hmac.new(
                secret.encode(), f"{segment(HS256)}.{b64(b'not json')}".encode(), hashlib.sha256
            ).digest()
        )
    ),
    "signed-but-oversize": _with_claims(padding="x" * 6000),
    "garbage": _constant("garbage"),
    "two-segments": _constant("abc.def"),
    "four-segments": _constant("a.b.c.d"),
    "empty-segments": _constant(".."),
    "not-base64": _constant("!!!.@@@.###"),
    "padded-base64": lambda token, secret, claims: token.replace(".", "=.", 1),
    "non-ascii": _constant("ééé.ééé.ééé"),
    "oversize-10kB": _constant("a" * 10_000),
    "oversize-100kB": _constant("eyJ" + "a" * 100_000),
}


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_valid_token_and_hand_forged_copy_are_accepted(
    client: FlaskClient, tokens: dict[str, str], origin: str
) -> None:
    """Control: ``forge`` itself makes acceptable tokens, so each refusal below is real."""
    token = tokens[origin]
    assert client.get(ME[origin], headers=bearer(token)).status_code == 200
    copy = forge(SECRET[origin], claims_of(token))
    assert client.get(ME[origin], headers=bearer(copy)).status_code == 200
    reordered = forge(SECRET[origin], claims_of(token), {"typ": "JWT", "alg": "HS256", "kid": "1"})
    assert client.get(ME[origin], headers=bearer(reordered)).status_code == 200


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_token_is_a_uniform_401(client: FlaskClient, tokens: dict[str, str], case: str) -> None:
    for origin, token in tokens.items():
        bad = BAD_TOKENS[case](token, SECRET[origin], claims_of(token))
        assert bad != token
        assert_refused(client.get(ME[origin], headers={"Authorization": f"Bearer {bad}"}))
        # the real token still works afterwards: nothing was revoked by the attempt
        assert client.get(ME[origin], headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_other_origins_token_is_refused(
    client: FlaskClient, tokens: dict[str, str], origin: str
) -> None:
    assert_refused(client.get(ME[origin], headers=bearer(tokens[OTHER[origin]])))


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_other_origins_audience_signed_with_this_secret_is_refused(
    client: FlaskClient, tokens: dict[str, str], origin: str
) -> None:
    """The audience alone keeps origins apart, even if the secrets leaked into each other."""
    forged = forge(SECRET[origin], {**claims_of(tokens[origin]), "aud": OTHER[origin]})
    assert_refused(client.get(ME[origin], headers=bearer(forged)))


def test_refresh_token_is_not_a_bearer_token(client: FlaskClient) -> None:
    refresh_token = register(client).get_json()["refreshToken"]
    assert_refused(client.get(ME[UP], headers=bearer(refresh_token)))


def test_admin_refresh_cookie_is_not_a_bearer_token(client: FlaskClient) -> None:
    register_admin(client)
    response = admin_login(client, rememberMe=True)
    [cookie] = [c for c in set_cookies(response) if c.startswith("strapi_admin_refresh=")]
    refresh_token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert_refused(client.get(ME[ADMIN], headers=bearer(refresh_token)))


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_legacy_token_is_refused_in_refresh_mode(
    client: FlaskClient, tokens: dict[str, str], origin: str
) -> None:
    claims = claims_of(tokens[origin])
    legacy = sign_legacy(
        SECRET[origin], user_id=int(claims["userId"]), now=int(START), expires_in=3600
    )
    assert_refused(client.get(ME[origin], headers=bearer(legacy)))


def test_session_token_is_refused_in_legacy_mode(make_app: Callable[..., Flask]) -> None:
    client = make_app(UP_JWT_MANAGEMENT="legacy-support").test_client()
    legacy = register(client).get_json()["jwt"]
    assert client.get(ME[UP], headers=bearer(legacy)).status_code == 200
    user_id = str(claims_of(legacy)["id"])
    access = sign_access(
        UP_SECRET,
        user_id=user_id,
        session_id=new_session_id(),
        audience=UP,
        now=int(START),
        expires_at=int(START) + 600,
    )
    assert_refused(client.get(ME[UP], headers=bearer(access)))
    # a legacy-shaped token that also carries session claims is not a legacy token either
    hybrid = forge(UP_SECRET, {**claims_of(legacy), "sessionId": new_session_id()})
    assert_refused(client.get(ME[UP], headers=bearer(hybrid)))


# -- expiry, on the injected clock ------------------------------------------------------------


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_access_token_expires_at_exp_exactly(
    make_app: Callable[..., Flask], clock: FakeClock, origin: str
) -> None:
    client = make_app(UP_SESSIONS_ACCESS_TTL=600, ADMIN_SESSIONS_ACCESS_TTL=600).test_client()
    if origin == UP:
        token = register(client).get_json()["jwt"]
    else:
        register_admin(client)
        token = admin_login(client).get_json()["data"]["token"]
    exp = claims_of(token)["exp"]
    assert exp == int(START) + 600
    clock.now = exp - 1
    assert client.get(ME[origin], headers=bearer(token)).status_code == 200
    clock.now = exp
    assert_refused(client.get(ME[origin], headers=bearer(token)))


def test_legacy_token_expires_at_exp_exactly(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    client = make_app(UP_JWT_MANAGEMENT="legacy-support", UP_JWT_EXPIRES_IN="2h").test_client()
    token = register(client).get_json()["jwt"]
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 7200
    clock.now = claims["exp"] - 1
    assert client.get(ME[UP], headers=bearer(token)).status_code == 200
    clock.now = claims["exp"]
    assert_refused(client.get(ME[UP], headers=bearer(token)))


# -- the Authorization header ------------------------------------------------------------------


@pytest.mark.parametrize("origin", [UP, ADMIN])
def test_missing_authorization_is_a_401_with_challenge(client: FlaskClient, origin: str) -> None:
    assert_refused(client.get(ME[origin]))


def test_bearer_scheme_is_case_insensitive(client: FlaskClient, tokens: dict[str, str]) -> None:
    for origin, token in tokens.items():
        for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"]:
            response = client.get(ME[origin], headers={"Authorization": f"{scheme} {token}"})
            assert response.status_code == 200, (origin, scheme)


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNzd29yZA==",
        "Basic {token}",
        "Token {token}",
        "JWT {token}",
        "{token}",
        "Bearer",
        "Bearer ",
        "Bearer {token} extra",
        "Bearer {token}{token}",
    ],
)
def test_wrong_scheme_or_shape_is_refused(
    client: FlaskClient, tokens: dict[str, str], header: str
) -> None:
    for origin, token in tokens.items():
        value = header.format(token=token)
        assert_refused(client.get(ME[origin], headers={"Authorization": value}))


# -- the token module --------------------------------------------------------------------------


def test_pyjwt_decodes_our_access_tokens(client: FlaskClient, clock: FakeClock) -> None:
    clock.now = time.time()  # PyJWT checks iat and exp against the real clock
    up = register(client).get_json()["jwt"]
    register_admin(client)
    admin = admin_login(client).get_json()["data"]["token"]
    for origin, token in {UP: up, ADMIN: admin}.items():
        claims = jwt.decode(token, SECRET[origin], algorithms=["HS256"], audience=origin)
        assert set(claims) >= {"userId", "sessionId", "type", "aud", "iat", "exp"}
        assert claims["type"] == "access"
        assert isinstance(claims["userId"], str)
        assert re.fullmatch(r"[0-9a-f]{32}", claims["sessionId"])
        assert jwt.get_unverified_header(token) == HS256


def test_pyjwt_decodes_our_legacy_tokens() -> None:
    token = sign_legacy(UP_SECRET, user_id=7, now=1000, expires_in=60)
    assert jwt.decode(token, UP_SECRET, algorithms=["HS256"], options={"verify_exp": False}) == {
        "id": 7,
        "iat": 1000,
        "exp": 1060,
    }


def test_we_verify_tokens_made_by_pyjwt() -> None:
    access = jwt.encode(
        {"userId": "3", "sessionId": "0f" * 16, "type": "access", "aud": UP, "iat": 10, "exp": 20},
        UP_SECRET,
        algorithm="HS256",
    )
    claims = verify_jwt(access, UP_SECRET, kind="access", audience=UP, now=15)
    assert (claims.user_id, claims.session_id, claims.issued_at, claims.expires_at) == (
        "3",
        "0f" * 16,
        10,
        20,
    )
    # a Strapi legacy token as jsonwebtoken makes them
    legacy = jwt.encode({"id": 3, "iat": 10, "exp": 20}, UP_SECRET, algorithm="HS256")
    assert verify_jwt(legacy, UP_SECRET, kind="legacy", audience=UP, now=19).user_id == "3"
    with pytest.raises(InvalidToken):
        verify_jwt(legacy, UP_SECRET, kind="legacy", audience=UP, now=20)
    with pytest.raises(InvalidToken):
        verify_jwt(legacy, ADMIN_SECRET, kind="legacy", audience=UP, now=15)


def test_refresh_tokens_are_opaque_random_and_url_safe() -> None:
    session_id = new_session_id()
    made = [new_refresh_token(UP_SECRET, session_id, 0) for _ in range(200)]
    assert len(set(made)) == len(made)
    randoms = set()
    for token in made:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token), token
        _session, _generation, random_part, _mac = token.split(".")
        assert len(base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))) >= 32
        randoms.add(random_part)
        # never a JWT: no JSON header, and neither PyJWT nor we accept it as one
        assert not token.startswith("eyJ")
        with pytest.raises(jwt.DecodeError):
            jwt.get_unverified_header(token)
        with pytest.raises(InvalidToken):
            verify_jwt(token, UP_SECRET, kind="access", audience=UP, now=0)
    assert len(randoms) == len(made)


def test_refresh_token_parse_checks_the_mac() -> None:
    token = new_refresh_token(UP_SECRET, "ab" * 16, 4)
    parsed = parse_refresh_token(UP_SECRET, token)
    assert (parsed.session_id, parsed.generation) == ("ab" * 16, 4)
    assert parsed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with pytest.raises(InvalidToken):
        parse_refresh_token(ADMIN_SECRET, token)
    body, mac = token.rsplit(".", 1)
    with pytest.raises(InvalidToken):
        parse_refresh_token(UP_SECRET, body.replace(".4.", ".5.") + "." + mac)
    for bad in ["", "x" * 513, "é", "a.b.c.d"]:
        with pytest.raises(InvalidToken):
            parse_refresh_token(UP_SECRET, bad)


def _row(app: Flask) -> StrapiSession:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        row: StrapiSession = db.session.execute(select(StrapiSession)).scalar_one()
        db.session.expunge(row)
        return row


def _column_values(row: StrapiSession) -> list[str]:
    return [str(getattr(row, column.key)) for column in StrapiSession.__table__.columns]


def test_only_the_hash_of_a_refresh_token_is_stored(app: Flask, client: FlaskClient) -> None:
    first = register(client).get_json()["refreshToken"]
    row = _row(app)
    assert row.token_hash == hash_refresh_token(first) == hashlib.sha256(first.encode()).hexdigest()
    assert not any(first in value for value in _column_values(row))

    second = client.post("/api/auth/refresh", json={"refreshToken": first}).get_json()
    successor = second["refreshToken"]
    row = _row(app)
    assert row.token_hash == hash_refresh_token(successor)
    assert row.previous_token_hash == hash_refresh_token(first)
    values = _column_values(row)
    assert not any(first in value or successor in value for value in values)
    # the sealed successor opens only with the previous token
    assert row.successor_sealed is not None
    assert open_successor(first, row.successor_sealed) == successor


def test_content_access_token_never_outlives_the_session(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(
        UP_SESSIONS_MAX_REFRESH_TTL=300,
        UP_SESSIONS_IDLE_REFRESH_TTL=300,
        UP_SESSIONS_ACCESS_TTL=3600,
    )
    client = app.test_client()
    first = register(client).get_json()
    absolute = _row(app).absolute_expires_at // 1000
    assert absolute == int(START) + 300
    assert claims_of(first["jwt"])["exp"] == absolute

    clock.advance(200)
    second = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    claims = claims_of(second.get_json()["jwt"])
    assert claims["iat"] == int(START) + 200
    assert claims["exp"] == absolute


def test_admin_access_token_never_outlives_the_session(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app(ADMIN_SESSIONS_MAX_SESSION_TTL=300, ADMIN_SESSIONS_IDLE_SESSION_TTL=300)
    client = app.test_client()
    register_admin(client)
    clock.advance(1)
    token = admin_login(client).get_json()["data"]["token"]
    rows_absolute = int(START) + 1 + 300
    assert claims_of(token)["exp"] == rows_absolute  # not iat + ADMIN_SESSIONS_ACCESS_TTL (1800)


def test_seal_and_open_round_trip() -> None:
    previous = new_refresh_token(UP_SECRET, "cd" * 16, 0)
    successor = new_refresh_token(UP_SECRET, "cd" * 16, 1)
    sealed = seal_successor(previous, successor)
    assert open_successor(previous, sealed) == successor
    assert successor not in sealed and sealed != successor
    assert seal_successor(previous, successor) == sealed  # deterministic for one key
    other = new_refresh_token(UP_SECRET, "cd" * 16, 0)
    try:
        opened: str | None = open_successor(other, sealed)
    except UnicodeDecodeError:
        opened = None
    assert opened != successor
