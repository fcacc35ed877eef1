"""Acting as another user: by username or by e-mail address, and how Egnyte refuses deactivated, deleted and
unknown users; users deleted right after the first users page listed them."""

from __future__ import annotations

from .helpers import bearer, fetch_all_users, open_sandbox, password_token

BOOKMARKS = "/pubapi/v1/bookmarks"


async def test_acting_by_email_address_is_acting_as_that_user() -> None:
    async with open_sandbox(bookmarks_per_user=3) as sbx:
        tenant = sbx.state.tenant
        someone = next(u for u in tenant.iter_users() if u["active"] and u["userName"] != "admin")
        by_email = await sbx.client.get(BOOKMARKS, headers={"X-Egnyte-Act-As-Email": someone["email"]})
        assert by_email.status_code == 200
        assert by_email.json()["bookmarks"] == tenant.bookmarks_of(someone["userName"])
        info = (await sbx.client.get("/pubapi/v1/userinfo", headers={"X-Egnyte-Act-As-Email": someone["email"]})).json()
        assert info["username"] == someone["userName"]
        assert sbx.state.requests[0].headers["x-egnyte-act-as-email"] == someone["email"]


async def test_a_deactivated_user_cannot_be_acted_as() -> None:
    async with open_sandbox() as sbx:
        inactive = [u for u in sbx.state.tenant.iter_users() if not u["active"]]
        assert inactive  # about one user in sixteen
        for header, value in (
            ("X-Egnyte-Act-As", inactive[0]["userName"]),
            ("X-Egnyte-Act-As-Email", inactive[0]["email"]),
        ):
            refused = await sbx.client.get(BOOKMARKS, headers={header: value})
            assert refused.status_code == 400
            assert refused.json() == {
                "errors": [{"code": "400", "description": f"User {inactive[0]['userName']} is not active."}]
            }


async def test_unknown_users_are_404_and_only_admins_may_act_as_others() -> None:
    async with open_sandbox() as sbx:
        for header, value in (("X-Egnyte-Act-As", "ghost123"), ("X-Egnyte-Act-As-Email", "ghost@nowhere.example")):
            unknown = await sbx.client.get(BOOKMARKS, headers={header: value})
            assert unknown.status_code == 404
            assert unknown.json()["errors"][0]["description"] == f"User {value} not found."
        users = [u for u in sbx.state.tenant.iter_users() if u["userType"] == "standard" and u["active"]]
        token = (await password_token(sbx.client, users[0]["userName"]))["access_token"]
        for value in ("ghost123", users[1]["userName"]):
            denied = await sbx.client.get(BOOKMARKS, headers={**bearer(token), "X-Egnyte-Act-As": value})
            assert denied.status_code == 403
        itself = await sbx.client.get(BOOKMARKS, headers={**bearer(token), "X-Egnyte-Act-As-Email": users[0]["email"]})
        assert itself.status_code == 200


async def test_users_deleted_right_after_the_first_users_page_listed_them() -> None:
    async with open_sandbox(users=30, users_deleted_after_listing=2) as sbx:
        tenant = sbx.state.tenant
        first = (await sbx.client.get("/pubapi/v2/users", params={"count": 10})).json()
        listed = [u["userName"] for u in first["resources"]]
        assert first["totalResults"] == 30  # the page was served before the deletions
        departed = sbx.state.departed
        assert len(departed) == 2 and set(departed) <= set(listed) and "admin" not in departed
        assert tenant.user_count == 28
        for name in departed:
            gone = await sbx.client.get(BOOKMARKS, headers={"X-Egnyte-Act-As": name})
            assert gone.status_code == 404
        await sbx.client.get("/pubapi/v2/users", params={"startIndex": 1, "count": 10})
        assert len(departed) == 2 and tenant.user_count == 28  # only after the first page served
    async with open_sandbox(users=30) as sbx:
        assert len(await fetch_all_users(sbx.client, count=10)) == 30 and sbx.state.departed == []
