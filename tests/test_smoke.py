"""The main path on both origins, end to end through the test client."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support import admin_login, bearer, error, register, register_admin


def test_content_api_register_refresh_logout(client: FlaskClient) -> None:
    first = register(client).get_json()
    assert set(first) == {"jwt", "refreshToken", "user", "deviceId"}
    me = client.get("/api/users/me", headers=bearer(first["jwt"]))
    assert me.status_code == 200 and me.get_json()["username"] == "alice"

    rotated = client.post("/api/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert rotated.status_code == 200
    assert rotated.get_json()["refreshToken"] != first["refreshToken"]

    out = client.post("/api/auth/logout", json={}, headers=bearer(rotated.get_json()["jwt"]))
    assert out.get_json() == {"ok": True}
    assert error(client.get("/api/users/me", headers=bearer(first["jwt"]))) == (
        401,
        "UnauthorizedError",
        "Missing or invalid credentials",
    )


def test_admin_register_login_refresh_logout(client: FlaskClient) -> None:
    assert client.get("/admin/init").get_json()["data"]["hasAdmin"] is False
    assert register_admin(client).status_code == 200
    data = admin_login(client, rememberMe=True).get_json()["data"]
    assert data["token"] == data["accessToken"]
    refreshed = client.post("/admin/access-token", json={})
    assert refreshed.status_code == 200 and set(refreshed.get_json()["data"]) == {"token"}
    out = client.post("/admin/logout", json={}, headers=bearer(data["token"]))
    assert out.get_json() == {"data": {}}
    assert client.get("/admin/users/me", headers=bearer(data["token"])).status_code == 401
