"""Acting as another user: by username or by e-mail address, and how Egnyte refuses deactivated, deleted and
unknown users; users deleted right after a users page listed them; userNames that are not ASCII."""

from __future__ import annotations

import pytest

from egnyte_sandbox import SandboxConfig
from egnyte_sandbox.cli import config_from, parser

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


@pytest.mark.parametrize("mode", ["unicode", "unicode_email"])
async def test_usernames_that_are_not_ascii(mode: str) -> None:
    async with open_sandbox(users=200, usernames=mode) as sbx:
        tenant = sbx.state.tenant
        users = await fetch_all_users(sbx.client)
        odd = [u for u in users if not u["userName"].isascii()]
        assert len(odd) > 20 and users[0]["userName"] == "admin"
        assert {ch for u in odd for ch in u["userName"] if not ch.isascii()} & set("äöüéèłśåçãñ")  # accents...
        assert any(not u["userName"][0].isascii() and u["userName"][0].isalpha() and ord(u["userName"][0]) > 0x2E80
                   for u in odd)  # ...and other scripts  # fmt: skip
        for user in odd:
            assert user["email"].isascii() == (mode == "unicode")
            assert tenant.find_user(user["userName"]) == user
            assert tenant.users.find_by("email", user["email"]) is not None
        # The same people as with ASCII userNames, under other names; what only their names feed keeps them.
        async with open_sandbox(users=200) as plain:
            ascii_users = await fetch_all_users(plain.client)
        assert [u["id"] for u in users] == [u["id"] for u in ascii_users]
        assert all(u["userName"].isascii() and u["email"].isascii() for u in ascii_users)
        assert [u["email"] for u in users if u["userName"].isascii()] == [
            u["email"] for u, a in zip(users, ascii_users, strict=True) if u["userName"].isascii()
        ]
        if mode == "unicode":
            assert [u["email"] for u in users] == [u["email"] for u in ascii_users]
            active = next(u for u in odd if u["active"])
            acted = await sbx.client.get(BOOKMARKS, headers={"X-Egnyte-Act-As-Email": active["email"]})
            assert acted.json()["bookmarks"] == tenant.bookmarks_of(active["userName"])
            filtered = await sbx.client.get(
                "/pubapi/v2/users", params={"filter": f'userName eq "{active["userName"]}"'}
            )
            assert filtered.json()["resources"] == [active]


def test_the_command_line_sets_the_new_switches() -> None:
    config = config_from(parser().parse_args(["--usernames", "unicode", "--users-deleted-after-listing", "3"]))
    assert (config.usernames, config.users_deleted_after_listing) == ("unicode", 3)
    with pytest.raises(ValueError, match="usernames"):
        SandboxConfig(usernames="emoji")
    with pytest.raises(ValueError, match="users_deleted_after_listing"):
        SandboxConfig(users_deleted_after_listing=-1)
