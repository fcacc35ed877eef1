"""Records added and removed between page requests: pages shift exactly as on a live tenant."""

from __future__ import annotations

from typing import Any

from .helpers import fetch_all_users, open_sandbox

USERS = "/pubapi/v2/users"


async def page(sbx: Any, start: int, count: int = 10) -> list[int]:
    body = (await sbx.client.get(USERS, params={"startIndex": start, "count": count})).json()
    return [u["id"] for u in body["resources"]]


async def test_a_removal_behind_the_cursor_makes_offset_paging_skip_a_record() -> None:
    async with open_sandbox(users=30) as sbx:
        original = [u["id"] for u in sbx.state.tenant.iter_users()]
        assert await page(sbx, 1) == original[:10]
        sbx.state.tenant.remove_user(2)
        assert await page(sbx, 11) == original[11:21]  # original[10] slid onto position 10 and is never served


async def test_an_insertion_behind_the_cursor_makes_offset_paging_repeat_a_record() -> None:
    async with open_sandbox(users=30) as sbx:
        original = [u["id"] for u in sbx.state.tenant.iter_users()]
        assert await page(sbx, 1) == original[:10]
        added = sbx.state.tenant.add_user(4)
        assert added is not None and original[3] < added["id"] < original[4]
        assert await page(sbx, 11) == original[9:19]  # original[9] is served twice


async def test_churn_mutates_the_listed_resource_before_each_list_request() -> None:
    async with open_sandbox(users=400, churn_per_list_request=3) as sbx:
        seen = await fetch_all_users(sbx.client)
        list_requests = len(sbx.state.requests)
        assert list_requests >= 4
        assert sbx.state.stats.churn_mutations == 3 * list_requests
        final = list(sbx.state.tenant.iter_users())
        seen_ids = [u["id"] for u in seen]
        final_ids = {u["id"] for u in final}
        # A naive offset pager either repeats or loses rows against the final state: exactly what the
        # connector's tests use churn to provoke.
        assert len(seen_ids) != len(set(seen_ids)) or not final_ids <= set(seen_ids) or set(seen_ids) - final_ids
        assert [u["id"] for u in final] == sorted(u["id"] for u in final)


async def test_churn_is_deterministic() -> None:
    async def run() -> list[dict[str, Any]]:
        async with open_sandbox(users=200, churn_per_list_request=2, seed=5) as sbx:
            await fetch_all_users(sbx.client, count=50)
            return list(sbx.state.tenant.iter_users())

    assert await run() == await run()


async def test_churn_on_groups_notes_and_bookmarks() -> None:
    async with open_sandbox(groups=50, notes=80, bookmarks_per_user=4, churn_per_list_request=4) as sbx:
        tenant = sbx.state.tenant
        before = (
            [g["id"] for g in tenant.iter_groups()],
            [n["id"] for n in tenant.iter_notes()],
            [b["id"] for b in tenant.bookmarks_of("admin")],
        )
        groups = (await sbx.client.get("/pubapi/v2/groups")).json()["resources"]
        notes = (await sbx.client.get("/pubapi/v1/notes")).json()["notes"]
        marks = (await sbx.client.get("/pubapi/v1/bookmarks")).json()["bookmarks"]
        after = ([g["id"] for g in groups], [n["id"] for n in notes], [b["id"] for b in marks])
        assert after == (
            [g["id"] for g in tenant.iter_groups()],
            [n["id"] for n in tenant.iter_notes()],
            [b["id"] for b in tenant.bookmarks_of("admin")],
        )
        assert all(a != b for a, b in zip(before, after, strict=True))
        assert sbx.state.stats.churn_mutations == 12
        times = [n["creation_time"] for n in notes]
        assert times == sorted(times)


async def test_detail_and_userinfo_requests_do_not_churn() -> None:
    async with open_sandbox(churn_per_list_request=5) as sbx:
        group = next(sbx.state.tenant.iter_groups())
        await sbx.client.get(f"/pubapi/v2/groups/{group['id']}")
        await sbx.client.get("/pubapi/v1/userinfo")
        assert sbx.state.stats.churn_mutations == 0


async def test_mutate_and_tenant_control_endpoints() -> None:
    async with open_sandbox(users=20) as sbx:
        applied = (await sbx.client.post("/_sandbox/mutate", json={"resource": "users", "count": 6})).json()
        assert applied["applied"] >= 1
        counts = (await sbx.client.get("/_sandbox/tenant")).json()
        assert counts["users"] == sbx.state.tenant.user_count
        assert counts["bookmarks"] == sbx.state.tenant.bookmark_count
        marks = await sbx.client.post("/_sandbox/mutate", json={"resource": "bookmarks", "username": "admin"})
        assert marks.json() == {"applied": 1}
        bad = await sbx.client.post("/_sandbox/mutate", json={"resource": "bookmarks"})
        assert bad.status_code == 400
        assert (await sbx.client.post("/_sandbox/mutate", json={"resource": "files"})).status_code == 400
        assert sbx.state.stats.requests == 0
