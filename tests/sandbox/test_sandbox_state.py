"""Counters, the request log and its bound."""

from __future__ import annotations

from .helpers import bearer, open_sandbox


async def test_counters_cover_paths_tokens_statuses_and_reset() -> None:
    async with open_sandbox() as sbx:
        group = next(sbx.state.tenant.iter_groups())
        await sbx.client.get(f"/pubapi/v2/groups/{group['id']}")
        await sbx.client.get("/pubapi/v2/groups/0badc0de-0000-4000-8000-000000000000")
        await sbx.client.get("/pubapi/v1/userinfo", headers=bearer("nope"))
        await sbx.client.get("/pubapi/v1/notes", params={"count": 2}, headers={"User-Agent": "probe"})
        stats = (await sbx.client.get("/_sandbox/stats")).json()
        assert stats["requests"] == stats["api_requests"] == 4
        assert stats["paths"] == {"/pubapi/v2/groups/{id}": 2, "/pubapi/v1/userinfo": 1, "/pubapi/v1/notes": 1}
        assert stats["tokens"] == {"sandbox-token": 3}
        assert stats["statuses"] == {"200": 2, "404": 1, "401": 1}
        assert stats["unauthorized"] == 1
        log = (await sbx.client.get("/_sandbox/requests")).json()
        assert log[-1]["query"] == {"count": "2"} and log[-1]["headers"]["user-agent"] == "probe"
        assert log[-1]["token"] == "sandbox-token" and log[-1]["status"] == 200
        assert "Developer" not in sbx.state.stats.summary() and "requests: 4" in sbx.state.stats.summary()
        await sbx.client.post("/_sandbox/reset-stats")
        assert sbx.state.stats.requests == 0 and sbx.state.requests == []
        await sbx.client.get("/pubapi/v1/userinfo")
        assert sbx.state.requests[0].number == 5  # numbering never restarts, so fault schedules stay valid


async def test_request_log_keeps_the_newest_within_its_limit() -> None:
    async with open_sandbox(request_log_limit=10) as sbx:
        for _ in range(25):
            await sbx.client.get("/pubapi/v1/userinfo")
        numbers = [r.number for r in sbx.state.requests]
        assert len(numbers) <= 10 and numbers[-1] == 25 and numbers == sorted(numbers)
    async with open_sandbox(record_requests=False) as sbx:
        await sbx.client.get("/pubapi/v1/userinfo")
        assert sbx.state.requests == [] and sbx.state.stats.requests == 1
