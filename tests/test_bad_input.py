"""Bad input of any kind gets a clear 4xx and writes nothing (SPEC §5, §8).

Every check compares a snapshot of the three tables (row counts, session tokens and
statuses, users' e-mails and password hashes) before and after, and asserts that no
answer is a 5xx, carries a traceback, or echoes the submitted password. The app runs
with ``TESTING`` on, so an unhandled exception would fail the test outright.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.test import TestResponse

from flask_strapi_sessions.models import AdminUser, StrapiSession, UpUser
from tests.support import admin_login, bearer, register, register_admin

CANARY = "Canary-Pw-7319x"  # a password that must never come back in an answer
MAX_BODY = 64 * 1024
WRONG_TYPES: list[Any] = [0, 1.5, True, False, [], ["x"], {}, {"a": "b"}, None]


# -- the world under test --------------------------------------------------------------


@dataclass
class World:
    """An app with a content-API user and an admin, and their tokens."""

    app: Flask
    client: FlaskClient
    up_jwt: str
    up_refresh: str
    admin_token: str
    admin_refresh: str
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture
def world(app: Flask) -> World:
    client = app.test_client(use_cookies=False)
    up = register(client).get_json()
    assert register_admin(client).status_code == 200
    logged_in = admin_login(client)
    admin_refresh = logged_in.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    w = World(
        app,
        client,
        up["jwt"],
        up["refreshToken"],
        logged_in.get_json()["data"]["token"],
        admin_refresh,
    )
    w.headers = {
        "none": {},
        "up": bearer(w.up_jwt),
        "admin": bearer(w.admin_token),
        "admin-cookie": {"Cookie": f"strapi_admin_refresh={admin_refresh}"},
    }
    return w


def snapshot(app: Flask) -> tuple[Any, ...]:
    """Everything a bad request must leave untouched."""
    with app.app_context():
        db = app.extensions["sqlalchemy"].session
        sessions = db.execute(
            select(
                StrapiSession.session_id,
                StrapiSession.status,
                StrapiSession.token_hash,
                StrapiSession.idle_expires_at,
            ).order_by(StrapiSession.session_id)
        ).all()
        up = db.execute(
            select(UpUser.id, UpUser.username, UpUser.email, UpUser.password_hash).order_by(
                UpUser.id
            )
        ).all()
        admins = db.execute(
            select(
                AdminUser.id, AdminUser.email, AdminUser.firstname, AdminUser.password_hash
            ).order_by(AdminUser.id)
        ).all()
        db.rollback()
    return tuple(sessions), tuple(up), tuple(admins)


def assert_clean_refusal(
    response: TestResponse, case: Any, *, passwords: tuple[str, ...] = ()
) -> None:
    """A 4xx without a traceback or an echoed password."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (case, response.status_code, text[:300])
    assert "Traceback" not in text, case
    assert 'File "' not in text, case
    for password in (CANARY, *passwords):
        assert password not in text, case
    if response.mimetype == "application/json":
        payload = response.get_json()
        assert payload["data"] is None, case
        assert payload["error"]["status"] == response.status_code, case
        assert set(payload["error"]) == {"status", "name", "message", "details"}, case


@dataclass(frozen=True)
class Route:
    """A body-taking route, a body that would succeed, and the fields it reads."""

    method: str
    path: str
    auth: str
    valid: dict[str, Any]
    optional: frozenset[str] = frozenset()


ROUTES: dict[str, Route] = {
    "login": Route(
        "POST",
        "/api/auth/local",
        "none",
        {"identifier": "alice", "password": "secret123", "deviceId": "dev-1"},
        frozenset({"deviceId"}),
    ),
    "register": Route(
        "POST",
        "/api/auth/local/register",
        "none",
        {"username": "bob", "email": "bob@example.com", "password": CANARY, "deviceId": "d"},
        frozenset({"deviceId"}),
    ),
    "refresh": Route("POST", "/api/auth/refresh", "none", {"refreshToken": "<up-refresh>"}),
    "change-password": Route(
        "POST",
        "/api/auth/change-password",
        "up",
        {"currentPassword": "secret123", "password": CANARY, "passwordConfirmation": CANARY},
    ),
    "logout": Route(
        "POST", "/api/auth/logout", "up", {"deviceId": "dev-1"}, frozenset({"deviceId"})
    ),
    "admin-login": Route(
        "POST",
        "/admin/login",
        "none",
        {"email": "ada@example.com", "password": "Secret123", "rememberMe": True, "deviceId": "x"},
        frozenset({"deviceId", "rememberMe"}),
    ),
    "admin-logout": Route("POST", "/admin/logout", "admin", {"scope": "all"}, frozenset({"scope"})),
    "admin-me": Route(
        "PUT",
        "/admin/users/me",
        "admin",
        {"firstname": "Augusta", "currentPassword": "Secret123", "password": "Canary-Pw-7319X"},
        # profile fields may be cleared with null
        frozenset({"firstname"}),
    ),
    "admin-access-token": Route("POST", "/admin/access-token", "admin-cookie", {}),
}


def send(world: World, route: Route, **kwargs: Any) -> TestResponse:
    headers = {**world.headers[route.auth], **kwargs.pop("headers", {})}
    method = kwargs.pop("method", route.method)
    return world.client.open(route.path, method=method, headers=headers, **kwargs)


def send_json(world: World, route: Route, body: Any) -> TestResponse:
    return send(world, route, data=json.dumps(body), content_type="application/json")


def valid_body(world: World, route: Route) -> dict[str, Any]:
    return {
        key: world.up_refresh if value == "<up-refresh>" else value
        for key, value in route.valid.items()
    }


@pytest.fixture(params=sorted(ROUTES))
def route(request: pytest.FixtureRequest) -> Route:
    return ROUTES[request.param]


# -- shape of the body ---------------------------------------------------------------------


MALFORMED = [
    b'{"identifier": "alice",',
    b"{'identifier': 'alice'}",
    b"{identifier: alice}",
    b'{"a": 1}}',
    b"\xff\xfe{\x00}",
    b'{"a": "\xc3\x28"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"password": "\\ud800"}',
    b'{"\\udfff": 1}',
    b"NaNx",
]
NOT_OBJECTS = [[], [{"identifier": "alice"}], "alice", 42, 1.5, None, True]


def test_malformed_json_is_refused(world: World, route: Route) -> None:
    before = snapshot(world.app)
    for raw in MALFORMED:
        response = send(world, route, data=raw, content_type="application/json")
        assert_clean_refusal(response, raw[:40])
        assert response.status_code == 400, raw[:40]
    assert snapshot(world.app) == before


def test_json_that_is_not_an_object_is_refused(world: World, route: Route) -> None:
    before = snapshot(world.app)
    for body in NOT_OBJECTS:
        response = send_json(world, route, body)
        assert_clean_refusal(response, body)
        assert response.get_json()["error"]["message"] == "The request body must be a JSON object"
    assert snapshot(world.app) == before


NON_JSON = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
]


def test_non_json_content_types_are_refused(world: World, route: Route) -> None:
    before = snapshot(world.app)
    body = json.dumps(valid_body(world, route)).encode()
    for content_type in NON_JSON:
        response = send(world, route, data=body, content_type=content_type)
        assert_clean_refusal(response, content_type)
        assert response.status_code == 415, content_type
        assert response.get_json()["error"]["name"] == "UnsupportedMediaTypeError"
    assert snapshot(world.app) == before


def test_form_bodies_are_refused_where_strapi_takes_only_json(world: World) -> None:
    before = snapshot(world.app)
    for name in sorted(set(ROUTES) - {"login", "register"}):
        route = ROUTES[name]
        response = send(world, route, data={"a": "b"})  # form-urlencoded
        assert_clean_refusal(response, name)
        assert response.status_code == 415, name
    assert snapshot(world.app) == before


def test_huge_bodies_are_refused_before_parsing(world: World, route: Route) -> None:
    before = snapshot(world.app)
    body = valid_body(world, route)
    body["padding"] = "x" * MAX_BODY
    response = send_json(world, route, body)
    assert_clean_refusal(response, "huge")
    assert response.status_code == 413
    assert response.get_json()["error"]["name"] == "PayloadTooLargeError"
    assert snapshot(world.app) == before


def test_huge_form_body_is_refused(world: World) -> None:
    before = snapshot(world.app)
    data = {"identifier": "alice", "password": "secret123", "padding": "x" * MAX_BODY}
    response = world.client.post("/api/auth/local", data=data)
    assert_clean_refusal(response, "huge form")
    assert response.status_code == 413
    assert snapshot(world.app) == before


# -- the fields ----------------------------------------------------------------------------


def test_wrong_types_in_every_field_are_refused(world: World, route: Route) -> None:
    before = snapshot(world.app)
    valid = valid_body(world, route)
    for name in valid:
        for wrong in WRONG_TYPES:
            if wrong is None and name in route.optional:
                continue  # null means "not given" there
            if isinstance(wrong, bool) and name == "rememberMe":
                continue  # the right type
            body = {**valid, name: wrong}
            response = send_json(world, route, body)
            assert_clean_refusal(response, (name, wrong))
            assert response.status_code == 400, (name, wrong)
    assert snapshot(world.app) == before


def test_missing_fields_are_refused(world: World) -> None:
    before = snapshot(world.app)
    for name in ("login", "register", "change-password", "admin-login"):
        route = ROUTES[name]
        valid = valid_body(world, route)
        for missing in set(valid) - route.optional:
            body = {key: value for key, value in valid.items() if key != missing}
            response = send_json(world, route, body)
            assert_clean_refusal(response, (name, missing))
            assert response.status_code == 400, (name, missing)
    assert snapshot(world.app) == before


HUGE_OR_NUL = ["x" * 60_000, "é" * 20_000, "😀" * 10_000, "a\x00b", "\x00", "a" * 257]


def test_huge_or_nul_strings_in_fields_are_refused(world: World) -> None:
    before = snapshot(world.app)
    for name in ("login", "register", "change-password", "admin-login", "admin-me"):
        route = ROUTES[name]
        for key in route.valid:
            if key == "rememberMe":
                continue
            for value in HUGE_OR_NUL:
                case = (name, key, value[:3], len(value))
                body = {**valid_body(world, route), key: value}
                response = send_json(world, route, body)
                assert_clean_refusal(response, case)
                too_big = len(json.dumps(body).encode()) > MAX_BODY
                assert response.status_code == (413 if too_big else 400), case
    assert snapshot(world.app) == before


def test_nul_in_the_refresh_token_is_refused(world: World) -> None:
    before = snapshot(world.app)
    response = world.client.post("/api/auth/refresh", json={"refreshToken": "a\x00b"})
    assert_clean_refusal(response, "nul")
    assert response.status_code == 401
    assert snapshot(world.app) == before


BAD_DEVICE_IDS = ["x" * 129, "has space", "semi;colon", "ü", "a\nb", "dev-1\n", "\x00"]


def test_bad_device_ids_are_refused(world: World) -> None:
    before = snapshot(world.app)
    for name in ("login", "register", "admin-login", "logout", "admin-logout"):
        route = ROUTES[name]
        for device_id in BAD_DEVICE_IDS:
            body = {**valid_body(world, route), "deviceId": device_id}
            response = send_json(world, route, body)
            assert_clean_refusal(response, (name, device_id))
            assert response.status_code == 400, (name, device_id)
            assert response.get_json()["error"]["details"]["errors"][0]["path"] == ["deviceId"]
    assert snapshot(world.app) == before


def test_unicode_and_emoji_are_stored_and_returned_intact(world: World) -> None:
    username = "Zoë 😀 日本"
    body = {"username": username, "email": "zoe@example.com", "password": "pässwörd😀"}
    response = world.client.post("/api/auth/local/register", json=body)
    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == username
    again = world.client.post(
        "/api/auth/local", json={"identifier": username, "password": "pässwörd😀"}
    )
    assert again.status_code == 200
    assert again.get_json()["user"]["username"] == username


def test_submitted_passwords_are_never_echoed(world: World) -> None:
    cases = [
        ("/api/auth/local", {"identifier": "alice", "password": CANARY}),
        ("/api/auth/local", {"identifier": CANARY, "password": CANARY}),
        ("/api/auth/local/register", {"username": "a", "email": "bad", "password": CANARY}),
        ("/api/auth/local/register", {"username": "alice", "email": "a@ex.io", "password": CANARY}),
        ("/admin/login", {"email": "ada@example.com", "password": CANARY}),
        ("/admin/login", {"email": CANARY, "password": CANARY}),
        ("/admin/register-admin", {"email": "x@ex.io", "firstname": "X", "password": CANARY}),
    ]
    for path, body in cases:
        assert_clean_refusal(world.client.post(path, json=body), (path, body))
    bearer_cases = [
        (
            "POST",
            "/api/auth/change-password",
            "up",
            {"currentPassword": CANARY, "password": CANARY, "passwordConfirmation": CANARY},
        ),
        (
            "POST",
            "/api/auth/change-password",
            "up",
            {"currentPassword": "secret123", "password": CANARY, "passwordConfirmation": "x"},
        ),
        ("PUT", "/admin/users/me", "admin", {"currentPassword": CANARY, "password": CANARY}),
        (
            "PUT",
            "/admin/users/me",
            "admin",
            {"currentPassword": "Secret123", "password": CANARY.lower()},
        ),
    ]
    for method, path, auth, body in bearer_cases:
        response = world.client.open(path, method=method, json=body, headers=world.headers[auth])
        assert_clean_refusal(response, body, passwords=(CANARY.lower(),))


# -- methods, paths and headers ------------------------------------------------------------


def test_other_methods_on_post_routes_are_405(world: World) -> None:
    before = snapshot(world.app)
    posts = [path for path in world.app.url_map.iter_rules() if "POST" in (path.methods or ())]
    assert len(posts) == 9  # every POST route of both origins
    for rule in posts:
        for method in ("GET", "HEAD", "PUT", "PATCH", "DELETE"):
            response = world.client.open(rule.rule, method=method, headers=world.headers["up"])
            assert response.status_code == 405, (rule.rule, method)
            assert "POST" in response.headers["Allow"]
            assert "Traceback" not in response.get_data(as_text=True)
    assert snapshot(world.app) == before


ODD_SESSION_IDS = ["%00", "x" * 5000, "%F0%9F%98%80", "..%2F..%2Fetc", "1%20OR%201%3D1"]


def test_odd_session_ids_are_not_found(world: World) -> None:
    before = snapshot(world.app)
    for session_id in ODD_SESSION_IDS:
        for prefix, auth in (("/api/auth/sessions", "up"), ("/admin/users/me/sessions", "admin")):
            path = f"{prefix}/{session_id}"
            response = world.client.delete(path, headers=world.headers[auth])
            assert_clean_refusal(response, path[:60])
            assert response.status_code == 404, path[:60]
    assert snapshot(world.app) == before


ODD_AUTHORIZATIONS = [
    "Bearer",
    "Bearer ",
    "Bearer " + "a" * 10_000,
    "Bearer a.b.c",
    "Bearer ÿÿÿ",
    "Token x",
    "Bearer\tx",
]


def test_odd_authorization_headers_are_401(world: World) -> None:
    before = snapshot(world.app)
    for authorization in ODD_AUTHORIZATIONS:
        for path in ("/api/users/me", "/admin/users/me", "/api/auth/logout", "/admin/logout"):
            method = "GET" if path.endswith("/me") else "POST"
            response = world.client.open(
                path, method=method, headers={"Authorization": authorization}
            )
            assert_clean_refusal(response, (path, authorization[:20]))
            assert response.status_code == 401, (path, authorization[:20])
    assert snapshot(world.app) == before


ODD_COOKIES = ["ÿÿÿ", "x" * 8000, '"quoted"', "a=b", "%00", "\\x00"]


def test_odd_refresh_cookies_are_refused(world: World) -> None:
    before = snapshot(world.app)
    for value in ODD_COOKIES:
        for path, name in (
            ("/api/auth/refresh", "strapi_up_refresh"),
            ("/admin/access-token", "strapi_admin_refresh"),
        ):
            response = world.client.post(path, headers={"Cookie": f"{name}={value}"})
            assert_clean_refusal(response, (path, value[:20]))
            assert response.status_code == 401, (path, value[:20])
    assert snapshot(world.app) == before


def test_nul_in_the_user_agent_is_harmless(world: World) -> None:
    response = world.client.post(
        "/api/auth/local",
        json={"identifier": "alice", "password": "secret123"},
        headers={"User-Agent": "Mozilla\x00/5.0"},
    )
    assert response.status_code == 200


# -- random bodies ---------------------------------------------------------------------------


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8"), max_size=40)
    | st.text(st.characters(exclude_categories=()), max_size=10)  # surrogates, NUL, controls
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def bodies_for(fields: list[str]) -> st.SearchStrategy[Any]:
    """Objects whose keys are mostly the route's own fields, with arbitrary values."""
    known = st.fixed_dictionaries({}, optional={name: JSON_VALUES for name in fields})
    extra = st.dictionaries(st.sampled_from([*fields, "x", ""]), JSON_VALUES, max_size=5)
    return known | extra | JSON_VALUES


FUZZED = ["login", "register", "refresh", "change-password", "admin-login", "admin-me"]
ALL_FIELDS = sorted({name for key in FUZZED for name in ROUTES[key].valid})


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(FUZZED),
    body=bodies_for(ALL_FIELDS),
    encoding=st.sampled_from(["json", "ascii-json", "raw"]),
)
def test_random_bodies_never_break_anything(
    world: World, name: str, body: Any, encoding: str
) -> None:
    route = ROUTES[name]
    before = snapshot(world.app)
    if encoding == "raw":
        data = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")[:-1]
    else:
        data = json.dumps(body, ensure_ascii=encoding == "ascii-json").encode(
            "utf-8", "surrogatepass"
        )
    response = send(world, route, data=data, content_type="application/json")
    text = response.get_data(as_text=True)
    assert response.status_code < 500, (name, body, text[:300])
    assert "Traceback" not in text
    if response.status_code >= 400:
        assert snapshot(world.app) == before, (name, body)


class BrokenChunks:
    """A request body whose transfer breaks off (as a malformed chunked upload does)."""

    def read(self, *_args: Any) -> bytes:
        raise OSError("Invalid chunk header")

    readline = read


@pytest.mark.parametrize("path", ["/api/auth/local", "/api/auth/refresh", "/admin/login"])
def test_a_malformed_chunked_body_is_a_400(client: FlaskClient, path: str) -> None:
    response = client.post(
        path,
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        # no length, a terminated input (what servers give for chunked bodies), then it breaks
        environ_overrides={"wsgi.input": BrokenChunks(), "wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Malformed request body"
