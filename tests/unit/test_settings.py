"""configuration.json: defaults, every refusal, every problem reported at once, secrets never shown."""

import dataclasses

import pytest

from egnyte_async.catalog import CATALOG
from egnyte_async.errors import ConfigurationError
from egnyte_async.settings import Settings, parse_settings

TOKEN = "s3cr3t-T0ken-value"
CLIENT_SECRET = "cl1ent-s3cret-value"
REFRESH_TOKEN = "r3fresh-t0ken-value"
MINIMAL = {"api_token": TOKEN, "domain": "acme"}


def settings(**changes) -> Settings:
    return parse_settings({**MINIMAL, **changes}, CATALOG)


def problems(configuration: dict) -> list[str]:
    """The problem lines of the ConfigurationError that `configuration` must raise."""
    with pytest.raises(ConfigurationError) as caught:
        parse_settings(configuration, CATALOG)
    heading, *lines = str(caught.value).splitlines()
    assert heading.startswith("configuration.json has ")
    assert all(line.startswith("  - ") for line in lines)
    return [line[4:] for line in lines]


def problem(**changes) -> str:
    found = problems({**MINIMAL, **changes})
    assert len(found) == 1, found
    return found[0]


def test_defaults():
    result = settings()
    assert result.domain == "acme"
    assert result.base_url == "https://acme.egnyte.com"
    assert result.api_token == TOKEN
    assert (result.client_id, result.client_secret, result.refresh_token) == (None, None, None)
    assert result.sync_frequency_hours == 4.0
    assert result.initial_sync_days == 90
    assert result.max_records_per_page == 100
    assert result.request_timeout_seconds == 30.0
    assert result.retry_attempts == 3
    assert result.requests_per_second is None  # auto: Egnyte's stated limit, 2 a second until it states one
    assert result.max_concurrent_requests == 16
    assert result.daily_request_limit is None  # auto: Egnyte's stated quota, 1,000 a day until it states one
    assert result.bookmarks_refresh_days == 7
    assert result.streams == ("users", "groups", "notes", "bookmarks")
    assert result.enable_debug_logging is False
    assert result.warnings == ()


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings().domain = "other"


def test_every_value_given_as_strings():
    result = settings(
        sync_frequency_hours=" 1.5 ",
        initial_sync_days="365",
        max_records_per_page="1000",
        request_timeout_seconds="600",
        retry_attempts="0",
        requests_per_second="0.5",
        max_concurrent_requests="64",
        daily_request_limit="10000000",
        enable_users="No",
        enable_groups="OFF",
        enable_notes="0",
        enable_bookmarks="yes",
        enable_debug_logging="On",
    )
    assert result.sync_frequency_hours == 1.5
    assert result.initial_sync_days == 365
    assert result.max_records_per_page == 100  # Egnyte's maximum; the rest of the range is accepted, and lowered
    assert result.warnings == ("max_records_per_page=1000 is above Egnyte's maximum of 100 records a page; using 100",)
    assert result.request_timeout_seconds == 600.0
    assert result.retry_attempts == 0
    assert result.requests_per_second == 0.5
    assert result.max_concurrent_requests == 64
    assert result.daily_request_limit == 10_000_000
    assert result.streams == ("bookmarks",)
    assert result.enable_debug_logging is True


def test_ints_and_bools_are_accepted_too():
    result = settings(initial_sync_days=30, sync_frequency_hours=2, requests_per_second=1.5, enable_notes=False)
    assert result.initial_sync_days == 30
    assert result.sync_frequency_hours == 2.0
    assert result.requests_per_second == 1.5
    assert "notes" not in result.streams
    assert settings(enable_users=0, enable_debug_logging=1).streams == ("groups", "notes", "bookmarks")


@pytest.mark.parametrize("word", ["true", "TRUE", "Yes", "1", "on", " true "])
def test_true_words(word):
    assert settings(enable_debug_logging=word).enable_debug_logging is True


@pytest.mark.parametrize("word", ["false", "False", "NO", "0", "off"])
def test_false_words(word):
    assert "notes" not in settings(enable_notes=word).streams


@pytest.mark.parametrize("word", ["maybe", "2", "t", "enabled", "-1"])
def test_unknown_boolean(word):
    message = problem(enable_groups=word)
    assert message.startswith(f"enable_groups: got {word!r}")
    assert "true/false, yes/no, 1/0 or on/off" in message


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("initial_sync_days", "abc", "whole number from 1 to 365"),
        ("initial_sync_days", "0", "whole number from 1 to 365"),
        ("initial_sync_days", "366", "whole number from 1 to 365"),
        ("initial_sync_days", "1.5", "whole number from 1 to 365"),
        ("initial_sync_days", "1_0", "whole number from 1 to 365"),
        ("max_records_per_page", "0", "from 2 to 1000"),
        ("max_records_per_page", "1001", "from 2 to 1000"),
        ("retry_attempts", "-1", "from 0 to 10"),
        ("retry_attempts", "11", "from 0 to 10"),
        ("max_concurrent_requests", "65", "from 1 to 64"),
        ("daily_request_limit", "0", "from 1 to 10000000"),
        ("daily_request_limit", "10000001", "from 1 to 10000000"),
        ("daily_request_limit", "1,000", "whole number"),
        ("bookmarks_refresh_days", "0", "whole number from 1 to 365"),
        ("bookmarks_refresh_days", "366", "whole number from 1 to 365"),
        ("bookmarks_refresh_days", "7.5", "whole number from 1 to 365"),
        ("membership_refresh_hours", "0", "whole number from 1 to 720"),
        ("membership_refresh_hours", "721", "whole number from 1 to 720"),
        ("sync_frequency_hours", "abc", "number from 0.25 to 168"),
        ("sync_frequency_hours", "0", "from 0.25 to 168"),
        ("sync_frequency_hours", "-4", "from 0.25 to 168"),
        ("sync_frequency_hours", "168.5", "from 0.25 to 168"),
        ("sync_frequency_hours", "nan", "from 0.25 to 168"),
        ("sync_frequency_hours", "inf", "from 0.25 to 168"),
        ("request_timeout_seconds", "0", "above 0 and at most 600"),
        ("request_timeout_seconds", "601", "at most 600"),
        ("requests_per_second", "0", "from 0.1 to 1000"),
        ("requests_per_second", "1001", "from 0.1 to 1000"),
        ("requests_per_second", "1,5", "write decimals with a dot"),
    ],
)
def test_bad_numbers(key, value, accepted):
    message = problem(**{key: value})
    assert message.startswith(f"{key}: got {value!r}; must be a")
    assert accepted in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("initial_sync_days", "1"),
        ("initial_sync_days", "+7"),
        ("sync_frequency_hours", "168"),
        ("sync_frequency_hours", "0.25"),
        ("requests_per_second", "0.1"),
        ("max_records_per_page", "2"),
        ("sync_frequency_hours", "1e1"),
        ("requests_per_second", "1000"),
        ("retry_attempts", "10"),
        ("bookmarks_refresh_days", "1"),
        ("bookmarks_refresh_days", "365"),
    ],
)
def test_bounds_are_inclusive(key, value):
    assert getattr(settings(**{key: value}), key) == float(value)


OR_AUTO = ", or auto to follow Egnyte's limit for the token"


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("requests_per_second", "1e-300", f"from 0.1 to 1000 (0.1 is one call every 10 seconds){OR_AUTO}"),
        ("requests_per_second", "0.001", f"from 0.1 to 1000 (0.1 is one call every 10 seconds){OR_AUTO}"),
        ("requests_per_second", "0.09", f"from 0.1 to 1000 (0.1 is one call every 10 seconds){OR_AUTO}"),
        ("sync_frequency_hours", "0.0001", "from 0.25 to 168 (0.25 is 15 minutes)"),
        ("sync_frequency_hours", "0.2", "from 0.25 to 168 (0.25 is 15 minutes)"),
    ],
)
def test_a_pace_or_a_schedule_too_small_to_make_progress_is_refused_with_the_accepted_range(key, value, accepted):
    # requests_per_second=1e-300 waited forever between two calls; sync_frequency_hours=0.0001 gave each sync one
    # call, spent on the token check.
    assert problem(**{key: value}) == f"{key}: got {value!r}; must be a number {accepted}"


def test_a_page_of_one_record_is_refused_because_pages_must_overlap():
    # Pages of one record cannot share one with the page before: a listing shifting under the scan went unseen.
    assert problem(max_records_per_page="1") == (
        "max_records_per_page: got '1'; must be a whole number from 2 to 1000 "
        "(consecutive pages must overlap by one record)"
    )
    assert problem(max_records_per_page=1).startswith("max_records_per_page: got '1'")


def test_non_string_values_are_refused():
    message = problem(initial_sync_days=[30])
    assert message == "initial_sync_days: got a list; must be a string"


# ---- domain and base_url ----


@pytest.mark.parametrize(
    ("domain", "stored", "base_url"),
    [
        ("acme", "acme", "https://acme.egnyte.com"),
        ("  Acme ", "acme", "https://acme.egnyte.com"),
        ("my-company", "my-company", "https://my-company.egnyte.com"),
        ("acme.egnyte.com", "acme.egnyte.com", "https://acme.egnyte.com"),
        ("files.example.org", "files.example.org", "https://files.example.org"),
        ("127.0.0.1:8443", "127.0.0.1:8443", "https://127.0.0.1:8443"),
    ],
)
def test_domain(domain, stored, base_url):
    result = settings(domain=domain)
    assert (result.domain, result.base_url) == (stored, base_url)


@pytest.mark.parametrize(
    ("domain", "hint"),
    [
        ("https://acme.egnyte.com", "e.g. 'acme'"),
        ("https://acme.egnyte.com/", "e.g. 'acme'"),
        ("acme.egnyte.com/app", "e.g. 'acme'"),
        ("http://files.example.org", "e.g. 'files.example.org'"),
        ("my company", "letters, digits"),
        ("acme_co", "letters, digits"),
        ("-acme", "letters, digits"),
        ("acme.", "letters, digits"),
        ("acmé", "letters, digits"),
    ],
)
def test_bad_domain(domain, hint):
    message = problem(domain=domain)
    assert message.startswith(f"domain: got {domain!r}")
    assert hint in message


def test_url_in_domain_points_to_base_url():
    assert "put a full URL in base_url" in problem(domain="https://acme.egnyte.com")


@pytest.mark.parametrize(
    ("base_url", "stored"),
    [
        ("https://acme.egnyte.com", "https://acme.egnyte.com"),
        ("https://acme.egnyte.com/", "https://acme.egnyte.com"),
        ("https://proxy.example.org/egnyte/", "https://proxy.example.org/egnyte"),
        ("https://acme.egnyte.com:8443", "https://acme.egnyte.com:8443"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://LOCALHOST:8000/", "http://LOCALHOST:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.45.6.7", "http://127.45.6.7"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://sandbox.localhost:9000", "http://sandbox.localhost:9000"),
    ],
)
def test_base_url(base_url, stored):
    assert settings(base_url=base_url).base_url == stored


@pytest.mark.parametrize(
    "base_url",
    ["http://acme.egnyte.com", "http://10.0.0.5:8000", "http://128.0.0.1", "http://[::2]", "http://localhost.evil.com"],
)
def test_plain_http_is_refused_outside_loopback(base_url):
    message = problem(base_url=base_url)
    assert message.startswith(f"base_url: got {base_url!r}; use https")
    assert "unencrypted" in message


@pytest.mark.parametrize(
    "base_url",
    [
        "acme.egnyte.com",
        "ftp://acme.egnyte.com",
        "https://",
        "https:///path",
        "https://acme.egnyte.com?x=1",
        "https://acme.egnyte.com#top",
        "https://acme.egnyte.com:99999",
        "https://acme.egnyte.com:port",
        "https://acme egnyte.com",
    ],
)
def test_bad_base_url(base_url):
    message = problem(base_url=base_url)
    assert message.startswith(f"base_url: got {base_url!r}; must be an http(s) URL with a host")


def test_base_url_with_pubapi_is_refused():
    assert "the connector adds /pubapi" in problem(base_url="https://acme.egnyte.com/pubapi/v2")


def test_base_url_with_credentials_is_refused_without_echoing_them():
    message = problem(base_url="https://admin:hunter2@acme.egnyte.com")
    assert "hunter2" not in message
    assert message == "base_url: must not contain a user name or password; the token goes in api_token"


def test_base_url_overrides_the_domain_host():
    result = settings(domain="acme", base_url="https://127.0.0.1:9443")
    assert (result.domain, result.base_url) == ("acme", "https://127.0.0.1:9443")


# ---- missing values and placeholders ----


def test_missing_required_keys():
    found = problems({})
    assert found == [
        "domain: missing: give your Egnyte domain, e.g. 'acme' for acme.egnyte.com",
        "api_token: missing: give an Egnyte API access token, or give client_id, client_secret and refresh_token",
    ]


def test_placeholders_count_as_missing():
    found = problems({"api_token": "<YOUR_EGNYTE_API_TOKEN>", "domain": "<YOUR_EGNYTE_DOMAIN>"})
    assert found == [
        "domain: missing: replace the placeholder with your Egnyte domain, e.g. 'acme'",
        "api_token: missing: replace the placeholder with an Egnyte API access token, or give client_id, "
        "client_secret and refresh_token",
    ]


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_values_count_as_missing(empty):
    assert problems({"api_token": empty, "domain": "acme"})[0].startswith("api_token: missing")
    assert settings(initial_sync_days=empty).initial_sync_days == 90


def test_placeholder_in_optional_key_means_default_with_a_warning():
    result = settings(initial_sync_days="<DAYS>", base_url="<YOUR_BASE_URL>", client_id="<YOUR_CLIENT_ID>")
    assert result.initial_sync_days == 90
    assert result.base_url == "https://acme.egnyte.com"
    assert result.client_id is None
    assert result.warnings == (
        "base_url still holds the template placeholder '<YOUR_BASE_URL>'; using the default",
        "initial_sync_days still holds the template placeholder '<DAYS>'; using the default",
    )


# ---- credentials ----


def test_oauth_trio_alone_is_enough():
    result = parse_settings(
        {"domain": "acme", "client_id": "id-1", "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN},
        CATALOG,
    )
    assert result.api_token is None
    assert (result.client_id, result.client_secret, result.refresh_token) == ("id-1", CLIENT_SECRET, REFRESH_TOKEN)


def test_token_and_trio_together():
    result = settings(client_id="id-1", client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)
    assert result.api_token == TOKEN
    assert (result.client_id, result.client_secret, result.refresh_token) == ("id-1", CLIENT_SECRET, REFRESH_TOKEN)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"client_id": "id-1"}, "client_secret, refresh_token"),
        ({"client_secret": CLIENT_SECRET}, "client_id, refresh_token"),
        ({"client_id": "id-1", "client_secret": CLIENT_SECRET}, "refresh_token"),
        ({"client_id": "id-1", "refresh_token": REFRESH_TOKEN, "client_secret": "<SECRET>"}, "client_secret"),
    ],
)
@pytest.mark.parametrize("with_token", [True, False])
def test_partial_oauth_trio(given, missing, with_token):
    configuration = {"domain": "acme", **given}
    if with_token:
        configuration["api_token"] = TOKEN
    found = problems(configuration)
    assert found == [f"client_id, client_secret, refresh_token: give all three or none (missing: {missing})"]


@pytest.mark.parametrize("token", ["two words", "line\nbreak", "tab\there", "tökén"])
def test_token_with_spaces_or_non_ascii_is_refused_and_hidden(token):
    message = problem(api_token=token)
    assert message.startswith("api_token: got <hidden>; must be the token alone")
    assert token not in message


def test_refused_secret_still_counts_as_given_in_the_trio():
    found = problems({"domain": "acme", "client_id": "id", "client_secret": "a b", "refresh_token": REFRESH_TOKEN})
    assert len(found) == 1
    assert found[0].startswith("client_secret: got <hidden>; must be the token alone")


def test_surrounding_whitespace_is_stripped_from_secrets():
    assert settings(api_token=f"  {TOKEN}\n").api_token == TOKEN


# ---- tables ----


def test_at_least_one_table():
    message = problem(enable_users="false", enable_groups="no", enable_notes="0", enable_bookmarks="off")
    assert message == (
        "enable_users, enable_groups, enable_notes, enable_bookmarks, enable_events: all are false; enable at least "
        "one table"
    )


def test_enabled_tables_keep_their_order():
    assert settings(enable_groups="false", enable_notes="false").streams == ("users", "bookmarks")


def test_debug_logging_is_not_a_table():
    with pytest.raises(ConfigurationError):
        settings(enable_users="0", enable_groups="0", enable_notes="0", enable_bookmarks="0", enable_debug_logging="1")


# ---- warnings, all-at-once, secrecy ----


def test_unknown_keys_warn_with_a_suggestion():
    result = settings(api_tokne="x", colour="blue")
    assert result.warnings == (
        "unknown configuration key 'api_tokne' ignored (did you mean 'api_token'?)",
        "unknown configuration key 'colour' ignored",
    )


def test_unknown_key_values_are_never_shown():
    assert "hunter2" not in " ".join(settings(password="hunter2").warnings)


def test_every_problem_is_reported_at_once():
    configuration = {
        "api_token": "<YOUR_EGNYTE_API_TOKEN>",
        "domain": "https://acme.egnyte.com",
        "base_url": "http://acme.egnyte.com",
        "sync_frequency_hours": "abc",
        "initial_sync_days": "0",
        "max_records_per_page": "5000",
        "request_timeout_seconds": "-1",
        "retry_attempts": "many",
        "requests_per_second": "fast",
        "max_concurrent_requests": "0",
        "daily_request_limit": "lots",
        "enable_users": "maybe",
        "client_id": "id-1",
        "unknown_key": "x",
    }
    found = problems(configuration)
    keys = [line.split(":")[0] for line in found]
    assert keys == [
        "domain",
        "base_url",
        "client_id, client_secret, refresh_token",
        "initial_sync_days",
        "max_records_per_page",
        "retry_attempts",
        "max_concurrent_requests",
        "daily_request_limit",
        "sync_frequency_hours",
        "request_timeout_seconds",
        "requests_per_second",
        "enable_users",
    ]
    with pytest.raises(ConfigurationError, match=r"^configuration.json has 12 problems:\n"):
        parse_settings(configuration, CATALOG)


def test_secrets_never_appear_in_messages():
    configuration = {
        "domain": "acme co",
        "api_token": "bad token",
        "client_id": "id-1",
        "client_secret": "bad secret",
        "refresh_token": "bad refresh",
    }
    with pytest.raises(ConfigurationError) as caught:
        parse_settings(configuration, CATALOG)
    text = str(caught.value)
    for secret in ("bad token", "bad secret", "bad refresh"):
        assert secret not in text
    assert text.count("<hidden>") == 3


def test_repr_hides_secrets_but_says_they_are_set():
    result = settings(client_id="id-1", client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)
    text = repr(result)
    for secret in (TOKEN, CLIENT_SECRET, REFRESH_TOKEN):
        assert secret not in text
        assert secret not in str(result)
    assert "api_token=<hidden>" in text
    assert "client_secret=<hidden>" in text
    assert "client_id='id-1'" in text
    assert "domain='acme'" in text
    assert "refresh_token=None" in repr(settings())


def test_configuration_must_be_a_mapping():
    with pytest.raises(ConfigurationError, match="JSON object"):
        parse_settings(["api_token", TOKEN], CATALOG)


def test_none_configuration_reports_missing_keys():
    with pytest.raises(ConfigurationError, match="domain: missing"):
        parse_settings(None, CATALOG)


@pytest.mark.parametrize("word", ["auto", "AUTO", " Auto "])
def test_the_limits_accept_auto_in_any_case(word):
    result = settings(requests_per_second=word, daily_request_limit=word)
    assert (result.requests_per_second, result.daily_request_limit) == (None, None)


def test_a_number_for_a_limit_is_a_cap_and_a_bad_one_says_auto_is_accepted():
    result = settings(requests_per_second="6", daily_request_limit="518400")
    assert (result.requests_per_second, result.daily_request_limit) == (6.0, 518_400)
    assert problem(daily_request_limit="lots") == (
        "daily_request_limit: got 'lots'; must be a whole number from 1 to 10000000, or auto to follow Egnyte's "
        "limit for the token"
    )
    assert problem(retry_attempts="auto") == "retry_attempts: got 'auto'; must be a whole number from 0 to 10"
