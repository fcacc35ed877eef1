"""The setup form Fivetran shows (and `fivetran configuration` asks), and its setup tests.

Every key `parse_settings` reads gets a field: the connection keys first, then the numeric settings (their ranges and
defaults read from `egnyte_async.settings`, never written here), one toggle per stream of the catalog (a new stream
gets its toggle for free) and the debug switch. Only the labels and one-line descriptions are written here: a key
without them makes `configuration_form()` fail, and with it the unit test that builds the form.

The setup tests are the checks of `egnyte_async.setup_checks`, in diagnosis order; the SDK stops at the first that
fails. A passing test's findings (whose token it is, the tables' sizes, Egnyte's limits for the token) are logged,
since the SDK's `Test.success()` carries no message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fivetran_connector_sdk import ConfigurationForm, Test, form_field
from fivetran_connector_sdk import Logging as log

from egnyte_async import setup_checks
from egnyte_async.catalog import CATALOG
from egnyte_async.settings import (
    AUTO,
    EGNYTE_DEFAULT_DAILY_QUOTA,
    EGNYTE_DEFAULT_RATE,
    SECRET_KEYS,
    auto_keys,
    boolean_keys,
    default_of,
    numeric_keys,
    whole_number_keys,
)

__all__ = ["FIELD_TEXTS", "configuration_form"]

#: Label and one-line description of each key (the streams' switches are described from the catalog).
FIELD_TEXTS: dict[str, tuple[str, str]] = {
    "domain": ("Egnyte domain", "Your Egnyte domain: 'acme' for acme.egnyte.com (or a full host name)."),
    "api_token": (
        "API access token",
        "An access token of an Egnyte administrator; required unless client_id, client_secret and refresh_token "
        "are all set.",
    ),
    "base_url": (
        "Base URL (optional)",
        "Only to override the address derived from the domain, e.g. https://acme.egnyte.com.",
    ),
    "client_id": (
        "OAuth client ID (optional)",
        "With client_secret and refresh_token, lets the connector renew an expired token; give all three or none.",
    ),
    "client_secret": ("OAuth client secret (optional)", "The API key's secret, used only to renew the access token."),
    "refresh_token": (
        "OAuth refresh token (optional)",
        "Issued with the access token; used to get a new one when Egnyte rejects it.",
    ),
    "sync_frequency_hours": (
        "Sync frequency (hours)",
        "How often this connection syncs; it sizes each sync's share of the daily request quota.",
    ),
    "initial_sync_days": ("Notes history (days)", "How many days of notes the first sync reads."),
    "max_records_per_page": (
        "Records per page",
        "Records asked for in one page of a listing (Egnyte serves 100 at most).",
    ),
    "request_timeout_seconds": ("Request timeout (seconds)", "How long one request may take before it is retried."),
    "retry_attempts": ("Retries per request", "How often a failed request is retried before the sync stops."),
    "requests_per_second": (
        "Requests per second",
        f"The pace of calls to Egnyte, which allows {EGNYTE_DEFAULT_RATE:g} a second per token unless raised; auto "
        "follows the limit Egnyte states for the token, a number caps it.",
    ),
    "max_concurrent_requests": ("Concurrent requests", "How many requests may be in flight at once."),
    "daily_request_limit": (
        "Daily request limit",
        f"Calls a day the connector may spend (Egnyte's default quota is {EGNYTE_DEFAULT_DAILY_QUOTA:,} per token); "
        "auto follows the quota Egnyte states for the token, a number caps it.",
    ),
    "bookmarks_refresh_days": (
        "Bookmarks refresh (days)",
        "Each user's bookmarks are listed again once in this many days (unless listed lately), a share of the users "
        "each sync; otherwise only new users and users active since the last sync are listed.",
    ),
    "membership_refresh_hours": (
        "Group memberships refresh (hours)",
        "Every group's members are read again once in this many hours, a share of the groups each sync; "
        "new groups are read at once. Unused when Egnyte's users listing carries each user's groups.",
    ),
    "enable_debug_logging": ("Debug logging", "Log every request and retry, for troubleshooting."),
}
_CONNECTION_KEYS = ("domain", "api_token", "base_url", "client_id", "client_secret", "refresh_token")
_PLACEHOLDERS = {"domain": "acme", "base_url": "https://acme.egnyte.com"}


def _text(key: str, description: str = "") -> tuple[str, str]:
    label, text = FIELD_TEXTS[key]
    return label, f"{text} {description}".strip()


def _numeric_field(key: str, smallest: float | None, largest: float) -> Any:
    default = default_of(key)
    shown = AUTO if default is None else f"{default:g}"
    if key in whole_number_keys():
        accepted = f"A whole number from {smallest:g} to {largest:g}"
    elif smallest is None:
        accepted = f"A number above 0 and at most {largest:g}"
    else:
        accepted = f"A number from {smallest:g} to {largest:g}"
    if key in auto_keys():
        accepted += f", or {AUTO}"
    label, description = _text(key, f"{accepted}; default {shown}.")
    return form_field.TextField(key, label, form_field.TextField.plain_text, description=description, placeholder=shown)


def configuration_form() -> Any:
    """The setup form: a field for every configuration key, and the setup tests."""
    form = ConfigurationForm()
    for key in _CONNECTION_KEYS:
        label, description = _text(key)
        kind = form_field.TextField.password if key in SECRET_KEYS else form_field.TextField.plain_text
        form.add_field(
            form_field.TextField(
                key, label, kind, description=description, required=key == "domain", placeholder=_PLACEHOLDERS.get(key)
            )
        )
    for key, (smallest, largest) in numeric_keys().items():
        form.add_field(_numeric_field(key, smallest, largest))
    for stream in CATALOG:
        tables = ", ".join(table.name for table in stream.tables)
        state = "on" if stream.enabled_by_default else "off"
        form.add_field(
            form_field.ToggleField(
                stream.flag,
                f"Sync {stream.name}",
                description=f"Sync the {stream.name} stream (tables: {tables}); {state} by default.",
            )
        )
    for key in boolean_keys():
        label, description = _text(key, f"{'On' if default_of(key) else 'Off'} by default.")
        form.add_field(form_field.ToggleField(key, label, description=description))
    form.add_test(label="The configuration is valid", func=configuration_is_valid)
    form.add_test(label="Egnyte answers at the domain's address", func=egnyte_answers)
    form.add_test(label="Egnyte accepts the token", func=token_is_accepted)
    form.add_test(label="The token is an administrator's", func=token_is_an_administrators)
    form.add_test(label="Every enabled table can be read", func=enabled_tables_are_readable)
    form.add_test(label="Egnyte's request limits for this token", func=request_limits)
    return form


def _verdict(check: Callable[[Mapping[str, object] | None], setup_checks.Outcome], configuration: Any) -> Any:
    outcome = check(configuration)
    if outcome.passed:
        log.info(outcome.message)
        return Test.success()
    return Test.failure(outcome.message)


def configuration_is_valid(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_configuration, configuration)


def egnyte_answers(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_host, configuration)


def token_is_accepted(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_token, configuration)


def token_is_an_administrators(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_administrator, configuration)


def enabled_tables_are_readable(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_tables, configuration)


def request_limits(configuration: dict[str, Any]) -> Any:
    return _verdict(setup_checks.check_limits, configuration)
