"""Tokens: the static one, password and refresh grants, expiry on the fake clock, revocation, the 409 throttle."""

from __future__ import annotations

from .helpers import bearer, open_sandbox, password_token, quiet_config

REFRESH = {
    "grant_type": "refresh_token",
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",
    "refresh_token": "sandbox-refresh",
}


async def test_missing_unknown_and_malformed_tokens_are_developer_inactive() -> None:
    async with open_sandbox() as sbx:
        for headers in ({"Authorization": ""}, bearer("not-a-token"), {"Authorization": "Basic c2FuZGJveA=="}):
            response = await sbx.client.get("/pubapi/v1/userinfo", headers=headers)
            assert response.status_code == 401
            assert response.text == "<h1>Developer Inactive</h1>"
            assert response.headers["content-type"].startswith("text/html")
            assert response.headers["X-Mashery-Error-Code"] == "ERR_401_DEVELOPER_INACTIVE"
        assert sbx.state.stats.unauthorized == 3


async def test_invalid_token_styles() -> None:
    async with open_sandbox(invalid_token_style="json") as sbx:
        response = await sbx.client.get("/pubapi/v1/userinfo", headers=bearer("x"))
        assert response.status_code == 401 and response.json() == {"errorMessage": "Developer Inactive"}
    async with open_sandbox(invalid_token_style="403") as sbx:
        response = await sbx.client.get("/pubapi/v1/userinfo", headers=bearer("x"))
        assert response.status_code == 403
        assert response.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_INACTIVE"


async def test_refresh_grant_issues_a_token_that_expires_after_its_lifetime() -> None:
    async with open_sandbox(token_lifetime_s=600.0) as sbx:
        response = await sbx.client.post("/puboauth/token", data=REFRESH)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 600
        assert body["refresh_token"] == "sandbox-refresh"
        token = body["access_token"]
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))).json()["username"] == "admin"
        sbx.clock.advance(599.0)
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))).status_code == 200
        sbx.clock.advance(1.0)
        expired = await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))
        assert expired.status_code == 401 and expired.text == "<h1>Developer Inactive</h1>"
        again = (await sbx.client.post("/puboauth/token", data=REFRESH)).json()["access_token"]
        assert again != token
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(again))).status_code == 200
        sbx.clock.advance(10_000.0)
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200  # the static token never expires


async def test_password_grant_for_any_existing_user() -> None:
    async with open_sandbox() as sbx:
        user = list(sbx.state.tenant.iter_users())[9]
        body = await password_token(sbx.client, user["userName"])
        info = (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(body["access_token"]))).json()
        assert info["username"] == user["userName"]
        refreshed = await sbx.client.post("/puboauth/token", data={**REFRESH, "refresh_token": body["refresh_token"]})
        token = refreshed.json()["access_token"]
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))).json()["id"] == user["id"]


async def test_token_endpoint_errors() -> None:
    async with open_sandbox() as sbx:
        user = list(sbx.state.tenant.iter_users())[2]["userName"]
        password = {"grant_type": "password", "client_id": "sandbox-client", "password": "x"}
        good = {**password, "username": user, "password": "sandbox-password"}
        cases = [
            ({**REFRESH, "client_id": "other"}, 401, "invalid_client"),
            ({**REFRESH, "client_secret": "wrong"}, 401, "invalid_client"),
            ({**REFRESH, "refresh_token": "stale"}, 400, "invalid_grant"),
            ({**password, "username": user}, 400, None),
            ({**password, "username": "ghost", "password": "sandbox-password"}, 400, None),
            ({**good, "client_secret": "bad"}, 401, "invalid_client"),
            ({"grant_type": "authorization_code", "client_id": "sandbox-client"}, 400, "unsupported_grant_type"),
            ({"client_id": "sandbox-client"}, 400, "invalid_request"),
        ]
        for form, status, error in cases:
            response = await sbx.client.post("/puboauth/token", data=form)
            assert response.status_code == status, form
            assert response.json()["error"] == (error or "invalid_grant")


async def test_token_endpoint_throttles_with_409_and_retry_after() -> None:
    async with open_sandbox(token_requests_per_hour=3) as sbx:
        for _ in range(3):
            assert (await sbx.client.post("/puboauth/token", data=REFRESH)).status_code == 200
        sbx.clock.advance(100.0)
        throttled = await sbx.client.post("/puboauth/token", data=REFRESH)
        assert throttled.status_code == 409
        assert throttled.headers["Retry-After"] == "3500"
        sbx.clock.advance(3500.0)
        assert (await sbx.client.post("/puboauth/token", data=REFRESH)).status_code == 200
        assert sbx.state.stats.token_throttled == 1 and sbx.state.stats.token_requests == 5


async def test_revoking_through_the_control_api_and_deleted_users() -> None:
    async with open_sandbox() as sbx:
        user = list(sbx.state.tenant.iter_users())[5]
        token = (await password_token(sbx.client, user["userName"]))["access_token"]
        sbx.state.tenant.remove_user(5)
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))).status_code == 401
        revoked = await sbx.client.post("/_sandbox/revoke-token", json={"token": "sandbox-token"})
        assert revoked.json() == {"revoked": True}
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 401


async def test_refresh_grant_from_a_custom_config() -> None:
    config = quiet_config(client_id="cid", client_secret="sec", refresh_token="rt", static_token="st")
    async with open_sandbox(config) as sbx:
        form = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "sec", "refresh_token": "rt"}
        assert (await sbx.client.post("/puboauth/token", data=form)).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200  # sent with "st"


async def test_the_standard_token_belongs_to_a_standard_user_and_is_refused_what_needs_an_admin() -> None:
    async with open_sandbox(standard_token="std") as sbx:
        info = (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer("std"))).json()
        assert info["user_type"] == "standard" and info["username"] == sbx.state.tenant.first_standard_user()
        own = await sbx.client.get("/pubapi/v1/bookmarks", headers=bearer("std"))
        assert own.status_code == 200
        denied = [
            await sbx.client.get("/pubapi/v2/users", headers=bearer("std")),
            await sbx.client.get("/pubapi/v2/groups", headers=bearer("std")),
            await sbx.client.get("/pubapi/v1/notes", headers=bearer("std")),
            await sbx.client.get("/pubapi/v1/bookmarks", headers={**bearer("std"), "X-Egnyte-Act-As": "admin"}),
        ]
        for response in denied:
            assert response.status_code == 403 and "X-Mashery-Error-Code" not in response.headers
        # The admin's static token still works; without the switch, "std" is no token at all.
        assert (await sbx.client.get("/pubapi/v2/users")).status_code == 200
    async with open_sandbox() as sbx:
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer("std"))).status_code == 401


async def test_userinfo_without_user_type() -> None:
    async with open_sandbox(userinfo_user_type=False) as sbx:
        assert "user_type" not in (await sbx.client.get("/pubapi/v1/userinfo")).json()
