"""Every endpoint, served through the ASGI app: envelopes, paging, permissions and error bodies."""

from __future__ import annotations

from .helpers import bearer, fetch_all_users, open_sandbox, password_token


async def test_users_paging_reaches_every_user_once() -> None:
    async with open_sandbox(users=250) as sbx:
        users = await fetch_all_users(sbx.client, count=100)
        assert users == list(sbx.state.tenant.iter_users())
        body = (await sbx.client.get("/pubapi/v2/users", params={"startIndex": 201, "count": 100})).json()
        assert body["schemas"] == ["urn:scim:schemas:core:1.0"]
        assert (body["startIndex"], body["totalResults"], body["itemsPerPage"]) == (201, 250, 50)
        beyond = (await sbx.client.get("/pubapi/v2/users", params={"startIndex": 400})).json()
        assert beyond["resources"] == [] and beyond["totalResults"] == 250


async def test_users_bad_paging_parameters() -> None:
    async with open_sandbox() as sbx:
        response = await sbx.client.get("/pubapi/v2/users", params={"startIndex": 0})
        assert response.status_code == 400
        assert response.json()["Errors"][0]["code"] == "400"
        assert (await sbx.client.get("/pubapi/v2/users", params={"count": -1})).status_code == 400
        assert (await sbx.client.get("/pubapi/v2/users", params={"count": "ten"})).status_code == 400
        empty = (await sbx.client.get("/pubapi/v2/users", params={"count": 0})).json()
        assert empty["resources"] == [] and empty["totalResults"] == 50


async def test_users_filter() -> None:
    async with open_sandbox() as sbx:
        target = list(sbx.state.tenant.iter_users())[17]
        for expression in (
            f'userName eq "{target["userName"]}"',
            f'email eq "{target["email"]}"',
            f'externalId eq "{target["externalId"]}"',
        ):
            body = (await sbx.client.get("/pubapi/v2/users", params={"filter": expression})).json()
            assert body["totalResults"] == 1 and body["resources"] == [target]
        none = (await sbx.client.get("/pubapi/v2/users", params={"filter": 'userName eq "ghost"'})).json()
        assert none["totalResults"] == 0 and none["resources"] == []
        bad = await sbx.client.get("/pubapi/v2/users", params={"filter": 'lastModified gt "2020"'})
        assert bad.status_code == 400 and "Errors" in bad.json()


async def test_groups_list_and_detail() -> None:
    async with open_sandbox(groups=130, members_per_group=4) as sbx:
        first = (await sbx.client.get("/pubapi/v2/groups")).json()
        second = (await sbx.client.get("/pubapi/v2/groups", params={"startIndex": 101})).json()
        groups = first["resources"] + second["resources"]
        assert first["totalResults"] == 130 and len(groups) == 130
        assert groups == list(sbx.state.tenant.iter_groups())
        assert all(set(g) == {"id", "displayName"} for g in groups)
        detail = (await sbx.client.get(f"/pubapi/v2/groups/{groups[3]['id']}")).json()
        assert detail == sbx.state.tenant.group_detail(groups[3]["id"])
        assert detail["schemas"] == ["urn:scim:schemas:core:1.0"]
        assert all(set(m) == {"username", "value", "display"} for m in detail["members"])


async def test_unknown_group_is_a_v2_404() -> None:
    async with open_sandbox() as sbx:
        response = await sbx.client.get("/pubapi/v2/groups/0badc0de-0000-4000-8000-000000000000")
        assert response.status_code == 404
        assert response.json() == {
            "Errors": [{"description": "Group 0badc0de-0000-4000-8000-000000000000 not found.", "code": "404"}]
        }
        assert (await sbx.client.get("/pubapi/v2/groups/not-a-uuid")).status_code == 404


async def test_user_management_needs_an_admin() -> None:
    async with open_sandbox() as sbx:
        standard = next(u for u in sbx.state.tenant.iter_users() if u["userType"] == "standard")
        token = (await password_token(sbx.client, standard["userName"]))["access_token"]
        for path in ("/pubapi/v2/users", "/pubapi/v2/groups"):
            response = await sbx.client.get(path, headers=bearer(token))
            assert response.status_code == 403
            assert "X-Mashery-Error-Code" not in response.headers
            assert "Errors" in response.json()


async def test_notes_envelope_paging_and_time_window() -> None:
    async with open_sandbox(notes=250) as sbx:
        notes = list(sbx.state.tenant.iter_notes())
        collected = []
        offset = 0
        while True:
            body = (await sbx.client.get("/pubapi/v1/notes", params={"offset": offset, "count": 100})).json()
            assert list(body) == ["total_results", "offset", "count", "notes"]
            assert body["total_results"] == 250 and body["count"] == len(body["notes"])
            collected.extend(body["notes"])
            offset += len(body["notes"])
            if not body["notes"]:
                break
        assert collected == notes
        start, end = notes[100]["creation_time"], notes[149]["creation_time"]
        window = (
            await sbx.client.get("/pubapi/v1/notes", params={"start_time": start, "end_time": end, "count": 100})
        ).json()
        assert window["total_results"] == 50 and window["notes"] == notes[100:150]


async def test_notes_domain_listing_needs_an_admin_but_a_file_listing_does_not() -> None:
    async with open_sandbox(notes=300) as sbx:
        user = next(u for u in sbx.state.tenant.iter_users() if u["userType"] == "standard")
        token = (await password_token(sbx.client, user["userName"]))["access_token"]
        denied = await sbx.client.get("/pubapi/v1/notes", headers=bearer(token))
        assert denied.status_code == 403 and "X-Mashery-Error-Code" not in denied.headers
        assert denied.json()["errors"][0]["code"] == "403"
        notes = list(sbx.state.tenant.iter_notes())
        path = notes[10]["file_path"]
        on_file = (await sbx.client.get("/pubapi/v1/notes", params={"file": path}, headers=bearer(token))).json()
        assert on_file["notes"] == [n for n in notes if n["file_path"] == path]
        folder = path.rsplit("/", 1)[0]
        in_folder = (await sbx.client.get("/pubapi/v1/notes", params={"folder": folder})).json()
        assert in_folder["notes"] == [n for n in notes if n["file_path"].startswith(folder + "/")][:100]


async def test_bookmarks_of_the_token_user_and_of_an_impersonated_user() -> None:
    async with open_sandbox(bookmarks_per_user=3) as sbx:
        tenant = sbx.state.tenant
        own = (await sbx.client.get("/pubapi/v1/bookmarks")).json()
        assert list(own) == ["offset", "count", "bookmarks"]
        assert own["bookmarks"] == tenant.bookmarks_of("admin")
        someone = next(u["userName"] for u in tenant.iter_users() if tenant.bookmark_count_of(u["userName"]) > 2)
        acted = await sbx.client.get("/pubapi/v1/bookmarks", headers={"X-Egnyte-Act-As": someone})
        assert acted.json()["bookmarks"] == tenant.bookmarks_of(someone)
        paged = await sbx.client.get(
            "/pubapi/v1/bookmarks", params={"offset": 1, "count": 1}, headers={"X-Egnyte-Act-As": someone}
        )
        assert paged.json() == {"offset": 1, "count": 1, "bookmarks": tenant.bookmarks_of(someone)[1:2]}


async def test_act_as_rules() -> None:
    async with open_sandbox() as sbx:
        users = [u for u in sbx.state.tenant.iter_users() if u["userType"] == "standard"]
        unknown = await sbx.client.get("/pubapi/v1/bookmarks", headers={"X-Egnyte-Act-As": "ghost"})
        assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "404"
        token = (await password_token(sbx.client, users[0]["userName"]))["access_token"]
        forbidden = await sbx.client.get(
            "/pubapi/v1/bookmarks", headers={**bearer(token), "X-Egnyte-Act-As": users[1]["userName"]}
        )
        assert forbidden.status_code == 403
        itself = await sbx.client.get(
            "/pubapi/v1/bookmarks", headers={**bearer(token), "X-Egnyte-Act-As": users[0]["userName"]}
        )
        assert itself.status_code == 200


async def test_userinfo_for_the_token_user() -> None:
    async with open_sandbox() as sbx:
        admin = next(sbx.state.tenant.iter_users())
        info = (await sbx.client.get("/pubapi/v1/userinfo")).json()
        assert info == {
            "id": admin["id"],
            "username": "admin",
            "first_name": admin["name"]["givenName"],
            "last_name": admin["name"]["familyName"],
            "email": admin["email"],
            "user_type": "admin",
        }
        other = list(sbx.state.tenant.iter_users())[4]
        token = (await password_token(sbx.client, other["userName"]))["access_token"]
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(token))).json()["id"] == other["id"]


async def test_unknown_api_path_is_404_after_authentication() -> None:
    async with open_sandbox() as sbx:
        assert (await sbx.client.get("/pubapi/v1/fs/Shared")).status_code == 404
        assert (await sbx.client.get("/pubapi/v1/fs/Shared", headers=bearer("nope"))).status_code == 401
