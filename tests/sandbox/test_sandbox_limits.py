"""Per-token rate limits on a fake clock: Mashery's 403 answers, the 429 variant, and the X-Accesstoken headers."""

from __future__ import annotations

import pytest

from .helpers import FakeClock, bearer, open_sandbox, quiet_config


def limited(**overrides: object) -> dict[str, object]:
    return {"qps_limit": 2.0, "daily_quota": 1000, **overrides}


async def test_per_second_limit_mashery_style() -> None:
    async with open_sandbox(**limited()) as sbx:
        first = await sbx.client.get("/pubapi/v1/userinfo")
        assert first.headers["X-Accesstoken-Qps-Allotted"] == "2"
        assert first.headers["X-Accesstoken-Qps-Current"] == "1"
        assert first.headers["X-Accesstoken-Quota-Allotted"] == "1000"
        assert first.headers["X-Accesstoken-Quota-Current"] == "1"
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        throttled = await sbx.client.get("/pubapi/v1/userinfo")
        assert throttled.status_code == 403
        assert throttled.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_OVER_QPS"
        assert throttled.headers["Retry-After"] == "1"
        assert throttled.text == "<h1>Developer Over Qps</h1>"
        assert throttled.headers["X-Accesstoken-Quota-Current"] == "2"  # throttled calls are not counted
        sbx.clock.advance(0.5)
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 403
        assert sbx.state.stats.throttled_qps == 2
        assert [r.throttled for r in sbx.state.requests] == [None, None, "qps", None, "qps"]


async def test_limits_are_per_token() -> None:
    async with open_sandbox(**limited(qps_limit=1.0)) as sbx:
        other = (
            await sbx.client.post(
                "/puboauth/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": "sandbox-client",
                    "client_secret": "sandbox-secret",
                    "refresh_token": "sandbox-refresh",
                },
            )
        ).json()["access_token"]
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 403
        assert (await sbx.client.get("/pubapi/v1/userinfo", headers=bearer(other))).status_code == 200


async def test_daily_quota_mashery_style_with_retry_after_until_the_window_ends() -> None:
    async with open_sandbox(**limited(qps_limit=None, daily_quota=3)) as sbx:
        for _ in range(3):
            assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
            sbx.clock.advance(600.0)
        over = await sbx.client.get("/pubapi/v1/userinfo")
        assert over.status_code == 403
        assert over.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_OVER_RATE"
        assert over.headers["Retry-After"] == str(86_400 - 1800)
        assert over.text == "<h1>Developer Over Rate</h1>"
        assert "X-Accesstoken-Qps-Allotted" not in over.headers
        sbx.clock.advance(86_400 - 1800)
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert sbx.state.stats.throttled_quota == 1


async def test_quota_reset_through_the_control_api() -> None:
    async with open_sandbox(**limited(qps_limit=None, daily_quota=1)) as sbx:
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 403
        assert (await sbx.client.post("/_sandbox/reset-quota")).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200


@pytest.mark.parametrize(("qps", "quota", "kind"), [(1.0, None, "qps"), (None, 1, "quota")])
async def test_429_style_for_both_limits(qps: float | None, quota: int | None, kind: str) -> None:
    async with open_sandbox(**limited(qps_limit=qps, daily_quota=quota, throttle_style="429")) as sbx:
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        throttled = await sbx.client.get("/pubapi/v1/userinfo")
        assert throttled.status_code == 429
        assert "X-Mashery-Error-Code" not in throttled.headers
        assert int(throttled.headers["Retry-After"]) == (1 if kind == "qps" else 86_400)


async def test_fractional_qps_and_headers_switched_off() -> None:
    async with open_sandbox(**limited(qps_limit=0.5, daily_quota=None, accesstoken_headers=False)) as sbx:
        ok = await sbx.client.get("/pubapi/v1/userinfo")
        assert ok.status_code == 200 and not any(h.startswith("x-accesstoken") for h in ok.headers)
        throttled = await sbx.client.get("/pubapi/v1/userinfo")
        assert throttled.status_code == 403 and throttled.headers["Retry-After"] == "2"
        sbx.clock.advance(2.0)
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200


async def test_control_endpoints_and_token_endpoint_are_not_rate_limited() -> None:
    config = quiet_config(qps_limit=1.0, daily_quota=1, clock=FakeClock())
    async with open_sandbox(config) as sbx:
        for _ in range(5):
            assert (await sbx.client.get("/_sandbox/stats")).status_code == 200
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        assert sbx.state.stats.requests == 1


async def test_the_quota_day_ends_at_midnight_gmt_and_every_answer_says_when() -> None:
    # The sandbox's wall time starts at 2026-11-01 00:00 GMT (a Sunday); 18 hours in, the day has 6 hours left.
    async with open_sandbox(**limited(qps_limit=None, daily_quota=2)) as sbx:
        sbx.clock.advance(18 * 3600.0)
        first = await sbx.client.get("/pubapi/v1/userinfo")
        assert first.headers["X-Quota-Reset"] == "Monday, November 2, 2026 12:00:00 AM GMT"
        assert first.headers["X-Accesstoken-Quota-Current"] == "1"
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        over = await sbx.client.get("/pubapi/v1/userinfo")
        assert over.status_code == 403 and over.headers["Retry-After"] == str(6 * 3600)  # not 24 h from the first
        assert over.headers["X-Quota-Reset"] == "Monday, November 2, 2026 12:00:00 AM GMT"
        sbx.clock.advance(6 * 3600.0)  # midnight GMT: a new day, whatever time the first call was made
        again = await sbx.client.get("/pubapi/v1/userinfo")
        assert again.status_code == 200 and again.headers["X-Accesstoken-Quota-Current"] == "1"
        assert again.headers["X-Quota-Reset"] == "Tuesday, November 3, 2026 12:00:00 AM GMT"


def test_the_reset_is_written_as_egnyte_writes_it() -> None:
    from datetime import datetime, timezone

    from egnyte_sandbox.limits import quota_reset_text

    assert quota_reset_text(datetime(2024, 4, 17, tzinfo=timezone.utc)) == "Wednesday, April 17, 2024 12:00:00 AM GMT"
    assert quota_reset_text(datetime(2024, 4, 17, 13, 5, 9, tzinfo=timezone.utc)) == (
        "Wednesday, April 17, 2024 1:05:09 PM GMT"
    )


# The same calls, at instants (seconds after the first) chosen on the edges of each kind's rule, at 2 calls a second:
# 200 admitted, 403 refused. The sandbox's wall clock starts on a whole second, so the instants are also the offsets
# within calendar seconds.
EDGES: dict[str, list[tuple[float, int]]] = {
    # A full bucket admits a burst of two; then one call per half second as it refills.
    "token_bucket": [(0.0, 200), (0.0, 200), (0.0, 403), (0.5, 200), (0.5, 403), (0.999, 403), (1.0, 200)],
    # Any second holds two calls at most: the third waits for the first to leave the window, exactly 1 s later.
    "sliding_window": [(0.0, 200), (0.4, 200), (0.9, 403), (0.999999, 403), (1.0, 200), (1.0, 403), (1.4, 200)],
    # Two calls per calendar second, counted afresh at each whole second: four calls within 0.1 s are admitted
    # across a boundary, and no third one within a second.
    "fixed_window": [(0.9, 200), (0.95, 200), (0.999999, 403), (1.0, 200), (1.0, 200), (1.0, 403), (1.999, 403),
                     (2.0, 200)],
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(EDGES))
async def test_each_limiter_kind_admits_and_refuses_exactly_at_its_edges(kind: str) -> None:
    async with open_sandbox(**limited(limiter_kind=kind, daily_quota=None)) as sbx:
        start = sbx.clock.now
        seen = []
        for offset, _ in EDGES[kind]:
            sbx.clock.now = start + offset
            seen.append((offset, (await sbx.client.get("/pubapi/v1/userinfo")).status_code))
        assert seen == EDGES[kind]
        assert sbx.state.stats.throttled_qps == sum(status == 403 for _, status in EDGES[kind])


async def test_a_sliding_window_allows_no_burst_after_an_idle_spell() -> None:
    async with open_sandbox(**limited(limiter_kind="sliding_window", qps_limit=3.0)) as sbx:
        sbx.clock.advance(60.0)
        statuses = [(await sbx.client.get("/pubapi/v1/userinfo")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 403]


@pytest.mark.parametrize("kind", ["sliding_window", "fixed_window"])
@pytest.mark.parametrize("style", ["mashery", "429"])
async def test_window_throttles_are_answered_as_the_bucket_answers_them(kind: str, style: str) -> None:
    async with open_sandbox(**limited(limiter_kind=kind, qps_limit=1.0, throttle_style=style)) as sbx:
        sbx.clock.advance(0.25)  # a quarter into a calendar second: the fixed window ends 0.75 s later
        assert (await sbx.client.get("/pubapi/v1/userinfo")).status_code == 200
        sbx.clock.advance(0.5)
        throttled = await sbx.client.get("/pubapi/v1/userinfo")
        assert throttled.status_code == (429 if style == "429" else 403)
        assert throttled.headers["Retry-After"] == "1"  # 0.5 s (sliding) or 0.25 s (fixed), rounded up
        assert throttled.headers["X-Accesstoken-Qps-Allotted"] == "1"
        assert throttled.headers["X-Accesstoken-Qps-Current"] == "1"
        assert throttled.headers["X-Accesstoken-Quota-Current"] == "1"  # throttled calls are not counted
        if style == "mashery":
            assert throttled.headers["X-Mashery-Error-Code"] == "ERR_403_DEVELOPER_OVER_QPS"


@pytest.mark.parametrize(
    ("kind", "qps", "edges"),
    [
        # Below one call a second: one call per window of 1/qps seconds (2 s here), Retry-After the time left.
        ("sliding_window", 0.5, [(0.0, 200, None), (1.5, 403, "1"), (1.9, 403, "1"), (2.0, 200, None)]),
        ("fixed_window", 0.5, [(0.5, 200, None), (1.0, 403, "1"), (1.999, 403, "1"), (2.0, 200, None)]),
        ("sliding_window", 0.25, [(0.0, 200, None), (0.5, 403, "4"), (3.5, 403, "1"), (4.0, 200, None)]),
        # A fractional limit above one rounds down to whole calls a second.
        ("sliding_window", 2.5, [(0.0, 200, None), (0.1, 200, None), (0.2, 403, "1"), (1.0, 200, None)]),
        ("fixed_window", 2.5, [(0.0, 200, None), (0.1, 200, None), (0.2, 403, "1"), (1.0, 200, None)]),
    ],
)
async def test_windows_hold_whole_calls_whatever_the_limit(
    kind: str, qps: float, edges: list[tuple[float, int, str | None]]
) -> None:
    async with open_sandbox(**limited(limiter_kind=kind, qps_limit=qps, daily_quota=None)) as sbx:
        start = sbx.clock.now
        for offset, status, retry_after in edges:
            sbx.clock.now = start + offset
            answer = await sbx.client.get("/pubapi/v1/userinfo")
            assert (offset, answer.status_code, answer.headers.get("Retry-After")) == (offset, status, retry_after)


def test_the_limiter_kind_is_a_command_line_switch_and_checked() -> None:
    from egnyte_sandbox.cli import config_from, parser

    assert config_from(parser().parse_args([])).limiter_kind == "token_bucket"
    assert config_from(parser().parse_args(["--limiter-kind", "fixed_window"])).limiter_kind == "fixed_window"
    with pytest.raises(SystemExit):
        parser().parse_args(["--limiter-kind", "leaky"])
    with pytest.raises(ValueError, match="limiter_kind"):
        quiet_config(limiter_kind="leaky")
