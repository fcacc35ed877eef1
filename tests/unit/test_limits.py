"""The token's limits read from Egnyte's headers, and the limits kept to: `auto` follows them, a number caps them."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from egnyte_async.limits import (
    EGNYTE_DEFAULT_DAILY_QUOTA,
    EGNYTE_DEFAULT_RATE,
    LimitPolicy,
    ServerLimits,
    parse_quota_reset,
    read_server_limits,
)
from tests.logs import RecordingLog

APRIL_17 = datetime(2024, 4, 17, tzinfo=timezone.utc)


def test_a_captured_response_is_read_whole():
    headers = httpx.Headers(
        {
            "x-accesstoken-qps-allotted": "6",
            "x-accesstoken-qps-current": "1",
            "x-accesstoken-quota-allotted": "1000",
            "x-accesstoken-quota-current": "69",
            "x-quota-reset": "Wednesday, April 17, 2024 12:00:00 AM GMT",
        }
    )
    assert read_server_limits(headers) == ServerLimits(rate=6.0, quota=1000, used=69, resets_at=APRIL_17)


def test_header_names_in_any_case_and_none_at_all():
    assert read_server_limits(httpx.Headers({"X-ACCESSTOKEN-QUOTA-ALLOTTED": "518400"})).quota == 518_400
    assert read_server_limits(httpx.Headers()) == ServerLimits()


@pytest.mark.parametrize(
    ("text", "rate"),
    [("2", 2.0), (" 0.5 ", 0.5), ("6.0", 6.0), ("1e1", 10.0), ("0", None), ("-2", None), ("nan", None),
     ("inf", None), ("two", None), ("", None), ("1e300", None), ("9" * 5000, None)],
)  # fmt: skip
def test_the_rate_is_a_positive_finite_number_or_ignored(text, rate):
    assert read_server_limits({"X-Accesstoken-Qps-Allotted": text}).rate == rate


@pytest.mark.parametrize(
    ("text", "count"),
    [("1000", 1000), (" 518400 ", 518_400), ("1,000", 1000), ("0", None), ("-5", None), ("10.5", None),
     ("lots", None), ("", None), ("١٠٠٠", None), ("9" * 5000, None)],
)  # fmt: skip
def test_the_quota_is_a_whole_number_or_ignored(text, count):
    assert read_server_limits({"X-Accesstoken-Quota-Allotted": text}).quota == count


def test_calls_used_may_be_zero_but_not_garbage():
    assert read_server_limits({"X-Accesstoken-Quota-Current": "0"}).used == 0
    assert read_server_limits({"X-Accesstoken-Quota-Current": "x69"}).used is None


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("Wednesday, April 17, 2024 12:00:00 AM GMT", APRIL_17),
        ("wednesday, april 17, 2024 12:00:00 am gmt", APRIL_17),
        ("April 17, 2024 12:00:00 AM GMT", APRIL_17),
        ("Wed, Apr 17, 2024 12:00 AM", APRIL_17),
        ("Tuesday, April 16, 2024 1:21:05 PM GMT", datetime(2024, 4, 16, 13, 21, 5, tzinfo=timezone.utc)),
        ("Tuesday, April 16, 2024 12:30:00 PM GMT", datetime(2024, 4, 16, 12, 30, tzinfo=timezone.utc)),
        ("Wed, 17 Apr 2024 00:00:00 GMT", APRIL_17),
        ("2024-04-17T00:00:00Z", APRIL_17),
        ("2024-04-17T02:00:00+02:00", APRIL_17),
        ("1713312000", APRIL_17),
    ],
)
def test_the_reset_in_every_form(text, moment):
    assert parse_quota_reset(text) == moment


@pytest.mark.parametrize(
    "text",
    [None, "", "  ", "soon", "Wednesday, Smarch 17, 2024 12:00:00 AM GMT", "Wednesday, April 31, 2024 12:00:00 AM GMT",
     "Wednesday, April 17, 2024 13:00:00 PM GMT", "Wednesday, April 17, 2024 0:00:00 AM GMT", "April 17"],
)  # fmt: skip
def test_a_reset_that_cannot_be_read_is_ignored(text):
    assert parse_quota_reset(text) is None


def test_garbage_in_one_header_leaves_the_others_read():
    headers = {
        "X-Accesstoken-Qps-Allotted": "fast",
        "X-Accesstoken-Quota-Allotted": "1000",
        "X-Accesstoken-Quota-Current": "?",
        "X-Quota-Reset": "tomorrow",
    }
    assert read_server_limits(headers) == ServerLimits(quota=1000)


def test_auto_starts_at_egnytes_defaults_and_follows_the_server_up_and_down():
    log = RecordingLog()
    policy = LimitPolicy(None, None, log)
    assert (policy.rate, policy.quota) == (EGNYTE_DEFAULT_RATE, EGNYTE_DEFAULT_DAILY_QUOTA) == (2.0, 1000)
    policy.observe(ServerLimits(rate=6.0, quota=518_400))
    assert (policy.rate, policy.quota) == (6.0, 518_400)  # raised
    policy.observe(ServerLimits(rate=1.0, quota=500))
    assert (policy.rate, policy.quota) == (1.0, 500)  # lowered
    policy.observe(ServerLimits())  # a response without the headers changes nothing
    assert (policy.rate, policy.quota) == (1.0, 500)
    assert log.lines == []


def test_a_configured_number_is_a_cap_lowered_by_the_server_never_raised_and_said_so():
    log = RecordingLog()
    policy = LimitPolicy(4.0, 2000, log)
    assert (policy.rate, policy.quota) == (4.0, 2000)  # before the server says anything: as configured
    policy.observe(ServerLimits(rate=2.0, quota=1000))
    assert (policy.rate, policy.quota) == (2.0, 1000)  # the server allows less: lowered
    assert log.lines == []
    for _ in range(3):
        policy.observe(ServerLimits(rate=6.0, quota=518_400))
    assert (policy.rate, policy.quota) == (4.0, 2000)  # the server allows more: the cap holds
    assert log.texts("info") == [  # once each, not once a response
        "Egnyte allows this token 6 calls a second; the connector keeps to requests_per_second=4 as configured "
        "(set it to auto to follow Egnyte)",
        "Egnyte allows this token 518,400 calls a day; the connector keeps to daily_request_limit=2000 as "
        "configured (set it to auto to follow Egnyte)",
    ]


def test_the_summary_names_the_limits_and_where_they_come_from():
    policy = LimitPolicy(None, 2000, RecordingLog())
    assert policy.describe() == (
        "Limits: 2 calls a second (Egnyte stated none; requests_per_second=auto); "
        "2,000 calls a day (Egnyte stated none; daily_request_limit=2000)"
    )
    policy.observe(ServerLimits(rate=0.5, quota=518_400))
    assert policy.describe() == (
        "Limits: 0.5 calls a second (Egnyte states 0.5; requests_per_second=auto); "
        "2,000 calls a day (Egnyte states 518,400; daily_request_limit=2000)"
    )
