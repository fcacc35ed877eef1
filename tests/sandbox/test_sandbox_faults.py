"""Each fault kind on an exact schedule, plus random faults, path filters and latency (all on fake time)."""

from __future__ import annotations

import json

import httpx
import pytest

from egnyte_sandbox import FaultPlan

from .helpers import FakeSleep, bearer, open_sandbox, quiet_config

USERS = "/pubapi/v2/users"


def faulty(schedule: dict[int, str], **overrides: object) -> dict[str, object]:
    return {"faults": FaultPlan(schedule=schedule, **overrides)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [("500", 500, "application/json"), ("502", 502, "text/html"), ("503", 503, "text/html"), ("504", 504, "text/html")],
)
async def test_status_faults(kind: str, status: int, content_type: str) -> None:
    async with open_sandbox(**faulty({2: kind})) as sbx:
        assert (await sbx.client.get(USERS)).status_code == 200
        failed = await sbx.client.get(USERS)
        assert failed.status_code == status
        assert failed.headers["content-type"].startswith(content_type)
        if kind == "500":
            assert failed.json()["Errors"][0]["code"] == "500"
        else:
            assert f"<h1>{status}" in failed.text
        assert (await sbx.client.get(USERS)).status_code == 200
        assert sbx.state.stats.faults == {kind: 1}
        assert [r.fault for r in sbx.state.requests] == [None, kind, None]
        assert [r.status for r in sbx.state.requests] == [200, status, 200]


async def test_reset_drops_the_connection_mid_body() -> None:
    async with open_sandbox(**faulty({1: "reset"})) as sbx:
        with pytest.raises(httpx.TransportError):
            await sbx.client.get(USERS)
        assert (await sbx.client.get(USERS)).status_code == 200
        assert sbx.state.stats.faults == {"reset": 1}


async def test_truncated_body_is_well_framed_but_not_json() -> None:
    async with open_sandbox(**faulty({2: "truncated"})) as sbx:
        whole = (await sbx.client.get(USERS)).content
        cut = await sbx.client.get(USERS)
        assert cut.status_code == 200
        assert cut.content == whole[: len(whole) // 2]
        assert int(cut.headers["content-length"]) == len(cut.content)
        with pytest.raises(json.JSONDecodeError):
            cut.json()


async def test_malformed_body() -> None:
    async with open_sandbox(**faulty({1: "malformed"})) as sbx:
        response = await sbx.client.get(USERS)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        with pytest.raises(json.JSONDecodeError):
            response.json()


async def test_slow_stalls_for_the_configured_time_then_answers() -> None:
    sleep = FakeSleep()
    config = quiet_config(sleep=sleep, faults=FaultPlan(schedule={1: "slow"}, slow_s=42.0))
    async with open_sandbox(config) as sbx:
        response = await sbx.client.get(USERS)
        assert response.status_code == 200 and sleep.calls == [42.0]
        token = await sbx.client.post(
            "/puboauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "refresh_token": "sandbox-refresh",
            },
        )
        assert token.status_code == 200


async def test_slow_token_request_still_reads_its_form() -> None:
    config = quiet_config(faults=FaultPlan(schedule={1: "slow"}))
    async with open_sandbox(config) as sbx:
        form = {
            "grant_type": "refresh_token",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": "sandbox-refresh",
        }
        assert (await sbx.client.post("/puboauth/token", data=form)).status_code == 200


async def test_expire_token_hits_issued_tokens_and_a_refresh_cures_it() -> None:
    async with open_sandbox(**faulty({2: "expire_token"})) as sbx:
        refresh = {
            "grant_type": "refresh_token",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "refresh_token": "sandbox-refresh",
        }
        token = (await sbx.client.post("/puboauth/token", data=refresh)).json()["access_token"]
        expired = await sbx.client.get(USERS, headers=bearer(token))
        assert expired.status_code == 401 and expired.text == "<h1>Developer Inactive</h1>"
        assert (await sbx.client.get(USERS, headers=bearer(token))).status_code == 401
        fresh = (await sbx.client.post("/puboauth/token", data=refresh)).json()["access_token"]
        assert (await sbx.client.get(USERS, headers=bearer(fresh))).status_code == 200
        assert sbx.state.stats.faults == {"expire_token": 1}


async def test_expire_token_spares_the_static_token_unless_told() -> None:
    async with open_sandbox(**faulty({1: "expire_token"})) as sbx:
        assert (await sbx.client.get(USERS)).status_code == 200
        assert sbx.state.stats.faults == {}
    async with open_sandbox(**faulty({1: "expire_token"}, expire_static=True)) as sbx:
        assert (await sbx.client.get(USERS)).status_code == 401
        assert (await sbx.client.get(USERS)).status_code == 401


async def test_repeat_page_serves_the_previous_page_of_the_same_listing() -> None:
    async with open_sandbox(users=250, **faulty({1: "repeat_page", 3: "repeat_page"})) as sbx:
        first = await sbx.client.get(USERS, params={"startIndex": 1})
        assert first.json()["startIndex"] == 1  # nothing to repeat yet: served normally, not counted
        second = await sbx.client.get(USERS, params={"startIndex": 101})
        assert second.json()["startIndex"] == 101
        repeated = await sbx.client.get(USERS, params={"startIndex": 201})
        assert repeated.content == second.content
        assert sbx.state.stats.faults == {"repeat_page": 1}


async def test_bad_envelope_drops_the_list_key() -> None:
    async with open_sandbox(**faulty(dict.fromkeys(range(1, 5), "bad_envelope"))) as sbx:
        assert "resources" not in (await sbx.client.get(USERS)).json()
        assert "resources" not in (await sbx.client.get("/pubapi/v2/groups")).json()
        assert "notes" not in (await sbx.client.get("/pubapi/v1/notes")).json()
        body = (await sbx.client.get("/pubapi/v1/bookmarks")).json()
        assert "bookmarks" not in body and "count" in body


async def test_bad_envelope_drops_the_list_key_when_pages_are_remembered_too() -> None:
    async with open_sandbox(**faulty({1: "bad_envelope", 3: "repeat_page"})) as sbx:
        assert sbx.state.remember_pages
        body = (await sbx.client.get(USERS)).json()
        assert "resources" not in body and body["totalResults"] == 50
        assert sbx.state.stats.faults == {"bad_envelope": 1}


async def test_list_faults_leave_other_endpoints_alone() -> None:
    async with open_sandbox(**faulty({1: "bad_envelope"})) as sbx:
        assert (await sbx.client.get("/pubapi/v1/userinfo")).json()["username"] == "admin"
        assert sbx.state.stats.faults == {}


async def test_faults_come_before_authentication_and_cost_no_rate_budget() -> None:
    config = quiet_config(qps_limit=1.0, daily_quota=5, faults=FaultPlan(schedule={1: "503", 2: "500"}))
    async with open_sandbox(config) as sbx:
        assert (await sbx.client.get(USERS, headers=bearer("bogus"))).status_code == 503
        assert (await sbx.client.get(USERS)).status_code == 500
        ok = await sbx.client.get(USERS)
        assert ok.status_code == 200 and ok.headers["X-Accesstoken-Quota-Current"] == "1"


async def test_request_numbers_count_token_requests_but_not_control_requests() -> None:
    async with open_sandbox(**faulty({3: "500"})) as sbx:
        await sbx.client.get("/_sandbox/stats")
        await sbx.client.post("/puboauth/token", data={"grant_type": "password"})
        assert (await sbx.client.get(USERS)).status_code == 200
        assert (await sbx.client.get(USERS)).status_code == 500
        assert [r.number for r in sbx.state.requests] == [1, 2, 3]


async def test_random_faults_are_reproducible_and_near_the_rate() -> None:
    async def run() -> list[str | None]:
        config = quiet_config(faults=FaultPlan(rate=0.2, kinds=("500", "503", "truncated")), seed=9)
        async with open_sandbox(config) as sbx:
            for _ in range(300):
                await sbx.client.get("/pubapi/v1/userinfo")
            return [r.fault for r in sbx.state.requests]

    first, second = await run(), await run()
    assert first == second
    assert 35 <= sum(f is not None for f in first) <= 85
    assert {f for f in first if f} == {"500", "503", "truncated"}


async def test_path_filter_limits_faults_to_some_endpoints() -> None:
    config = quiet_config(faults=FaultPlan(rate=1.0, kinds=("503",), paths=("/pubapi/v1/notes",)))
    async with open_sandbox(config) as sbx:
        assert (await sbx.client.get(USERS)).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/notes")).status_code == 503


async def test_latency_and_jitter_are_awaited_not_burnt() -> None:
    sleep = FakeSleep()
    async with open_sandbox(quiet_config(latency_s=0.05, jitter_s=0.02, sleep=sleep)) as sbx:
        for _ in range(20):
            await sbx.client.get("/pubapi/v1/userinfo")
        await sbx.client.get("/_sandbox/stats")
    assert len(sleep.calls) == 20
    assert all(0.05 <= delay < 0.07 for delay in sleep.calls)
    assert len(set(sleep.calls)) > 10


def test_fault_plan_validation() -> None:
    with pytest.raises(ValueError):
        FaultPlan(kinds=("teapot",))
    with pytest.raises(ValueError):
        FaultPlan(schedule={1: "418"})
    with pytest.raises(ValueError):
        FaultPlan(rate=1.5)
    with pytest.raises(ValueError):
        FaultPlan(path_schedule={USERS: {1: "418"}})
    with pytest.raises(ValueError):
        FaultPlan(path_schedule={USERS: {0: "500"}})


async def test_path_schedule_counts_the_requests_to_each_path_on_its_own() -> None:
    plan = FaultPlan(path_schedule={"/pubapi/v1/notes": {2: "503"}, USERS: {1: "500", 3: "reset"}})
    async with open_sandbox(faults=plan) as sbx:
        assert (await sbx.client.get("/pubapi/v1/notes")).status_code == 200
        assert (await sbx.client.get(USERS)).status_code == 500
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert (await sbx.client.get(USERS)).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/notes")).status_code == 503
        with pytest.raises(httpx.TransportError):
            await sbx.client.get(USERS, params={"startIndex": 5})  # the query is no part of the path
        assert (await sbx.client.get("/pubapi/v1/notes")).status_code == 200
        assert (await sbx.client.get(USERS)).status_code == 200
        assert [r.fault for r in sbx.state.requests] == [None, "500", None, None, "503", "reset", None, None]


async def test_path_schedule_matches_the_path_exactly() -> None:
    plan = FaultPlan(path_schedule={"/pubapi/v2/groups": {1: "502"}})
    async with open_sandbox(faults=plan) as sbx:
        group_id = next(iter(sbx.state.tenant.iter_groups()))["id"]
        assert (await sbx.client.get(f"/pubapi/v2/groups/{group_id}")).status_code == 200
        assert (await sbx.client.get("/pubapi/v2/groups")).status_code == 502
        assert sbx.state.stats.faults == {"502": 1}


async def test_path_schedule_gives_a_kind_that_cannot_apply_to_the_paths_next_request() -> None:
    plan = FaultPlan(path_schedule={USERS: {1: "repeat_page", 2: "503"}, "/pubapi/v2/groups": {1: "bad_envelope"}})
    async with open_sandbox(users=250, faults=plan) as sbx:
        first = await sbx.client.get(USERS, params={"startIndex": 1})
        assert first.json()["startIndex"] == 1  # no page before it to repeat: served as is, the fault kept
        repeated = await sbx.client.get(USERS, params={"startIndex": 101})
        assert repeated.content == first.content
        assert (await sbx.client.get(USERS)).status_code == 503  # the kind due second comes after
        assert (await sbx.client.get(USERS)).status_code == 200

        # A list fault never reaches a request that fails authentication: it waits for the next one.
        assert (await sbx.client.get("/pubapi/v2/groups", headers=bearer("revoked"))).status_code == 401
        assert "resources" not in (await sbx.client.get("/pubapi/v2/groups")).json()
        assert "resources" in (await sbx.client.get("/pubapi/v2/groups")).json()
        assert sbx.state.stats.faults == {"repeat_page": 1, "503": 1, "bad_envelope": 1}


async def test_path_schedule_a_kind_that_never_applies_holds_up_no_other() -> None:
    # expire_token spares the static token (expire_static is off): it never applies to these requests.
    plan = FaultPlan(path_schedule={USERS: {1: "expire_token", 2: "500", 3: "502"}})
    async with open_sandbox(faults=plan) as sbx:
        statuses = [(await sbx.client.get(USERS)).status_code for _ in range(6)]
        assert statuses == [200, 200, 500, 200, 502, 200]
        assert sbx.state.stats.faults == {"500": 1, "502": 1}


async def test_path_schedule_comes_before_the_other_faults_and_restarts_with_a_new_plan() -> None:
    plan = FaultPlan(schedule={1: "500", 2: "500"}, path_schedule={USERS: {1: "503"}}, paths=("/pubapi/v1/notes",))
    async with open_sandbox(faults=plan) as sbx:
        assert (await sbx.client.get(USERS)).status_code == 503  # whatever schedule and paths say
        assert (await sbx.client.get(USERS)).status_code == 200  # request 2: not under `paths`
        sbx.state.faults.plan = FaultPlan(path_schedule={USERS: {1: "502"}})
        assert (await sbx.client.get(USERS)).status_code == 502  # the new plan's first request to the path
        assert (await sbx.client.get(USERS)).status_code == 200
