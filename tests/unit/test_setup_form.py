"""The setup form: a field for every key the settings read, the right kinds, defaults from the settings, and the
setup tests registered the way the SDK wants them."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest
from fivetran_connector_sdk_cli import form_field
from fivetran_connector_sdk_cli.configuration_command import validate_form

from egnyte_async import setup_checks, setup_form
from egnyte_async.catalog import CATALOG
from egnyte_async.settings import SECRET_KEYS, Settings, configuration_keys, numeric_keys, parse_settings
from egnyte_async.setup_checks import TABLE_CHECKS, describe_limits


def form_fields() -> dict[str, form_field.FormField]:
    response = setup_form.configuration_form().to_response()
    validate_form(response.fields)  # unique names, as `fivetran configuration` checks
    return {field.name: field for field in response.fields}


def test_every_configuration_key_the_settings_read_has_a_field_and_nothing_else_does() -> None:
    assert set(form_fields()) == configuration_keys(CATALOG)


def test_every_field_has_a_label_and_a_one_line_description() -> None:
    for name, field in form_fields().items():
        assert field.label and field.label != name
        assert field.description and "\n" not in field.description and field.description.endswith("."), name


def test_secrets_are_password_fields_and_nothing_else_is() -> None:
    found = form_fields()
    passwords = {name for name, field in found.items() if field.text_field == form_field.PASSWORD}
    assert passwords == set(SECRET_KEYS) == {"api_token", "client_secret", "refresh_token"}
    for name in ("domain", "base_url", "client_id"):
        assert found[name].text_field == form_field.PLAIN_TEXT


def test_only_the_domain_is_required() -> None:
    assert [name for name, field in form_fields().items() if field.required] == ["domain"]


def test_numeric_fields_show_the_settings_defaults_and_ranges() -> None:
    found = form_fields()
    defaults = {item.name: item.default for item in fields(Settings)}
    assert numeric_keys()  # the settings have numeric keys, each one checked below
    for key, (_, largest) in numeric_keys().items():
        field = found[key]
        assert field.text_field == form_field.PLAIN_TEXT and not field.toggle
        # `auto` keys (requests_per_second, daily_request_limit) default to None, shown as "auto".
        shown = "auto" if defaults[key] is None else f"{defaults[key]:g}"
        assert field.placeholder == shown
        assert f"default {shown}." in (field.description or "")
        assert f"{largest:g}" in (field.description or "")
        # The placeholder, typed in, is accepted: the default is within its own range.
        typed_in = getattr(parse_settings({"domain": "acme", "api_token": "t", key: field.placeholder}, CATALOG), key)
        assert typed_in == defaults[key] if defaults[key] is None else typed_in


def test_a_toggle_per_catalog_stream_and_the_debug_toggle() -> None:
    found = form_fields()
    toggles = {name for name, field in found.items() if field.toggle}
    assert toggles == {stream.flag for stream in CATALOG} | {"enable_debug_logging"}
    for stream in CATALOG:
        state = "on by default" if stream.enabled_by_default else "off by default"
        assert state in (found[stream.flag].description or "")
    assert "Off by default" in (found["enable_debug_logging"].description or "")


def test_a_new_stream_gets_its_toggle_for_free(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = replace(CATALOG[-1], name="audit", enabled_by_default=False)
    monkeypatch.setattr(setup_form, "CATALOG", (*CATALOG, extra))
    toggle = form_fields()["enable_audit"]
    assert toggle.toggle and toggle.label == "Sync audit" and "off by default" in (toggle.description or "")


def test_a_numeric_key_without_a_label_fails_the_form(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = dict(setup_form.FIELD_TEXTS)
    del texts["retry_attempts"]
    monkeypatch.setattr(setup_form, "FIELD_TEXTS", texts)
    with pytest.raises(KeyError, match="retry_attempts"):
        setup_form.configuration_form()


def test_the_setup_tests_are_named_functions_in_diagnosis_order() -> None:
    form = setup_form.configuration_form()
    names = [test.name for test in form.to_response().tests]
    assert names == [
        "configuration_is_valid",
        "egnyte_answers",
        "token_is_accepted",
        "token_is_an_administrators",
        "enabled_tables_are_readable",
        "request_limits",
    ]
    for name in names:
        assert form._get_test_function_by_name(name) is getattr(setup_form, name)
    assert form._to_proto().SerializeToString()  # what `fivetran package` puts in configuration_form.pb


def test_every_catalog_stream_has_a_table_check() -> None:
    assert set(TABLE_CHECKS) == {stream.name for stream in CATALOG}


def test_the_limits_in_words_with_advice_where_the_configuration_asks_for_more() -> None:
    settings = parse_settings(
        {"domain": "acme", "api_token": "t", "requests_per_second": "5", "daily_request_limit": "5000"}, CATALOG
    )
    headers = {
        "X-Accesstoken-Qps-Allotted": "2",
        "X-Accesstoken-Quota-Allotted": "1000",
        "X-Accesstoken-Quota-Current": "69",
    }
    text = describe_limits(headers, settings)
    assert text.startswith("Egnyte's limits for this token: 2 calls a second; 1,000 calls a day, 69 used so far today.")
    assert "requests_per_second (5) is above what Egnyte allows: set it to 2" in text
    assert "daily_request_limit (5000) is above the token's daily quota" in text
    assert "no limits" in describe_limits({}, settings)
    calm = describe_limits(headers, parse_settings({"domain": "acme", "api_token": "t"}, CATALOG))
    assert "above" not in calm


def test_an_invalid_configuration_is_reported_with_every_problem_and_no_call() -> None:
    outcome = setup_checks.check_configuration({"domain": "https://acme.egnyte.com/x", "retry_attempts": "many"})
    assert not outcome.passed
    assert outcome.message.startswith("The configuration is not valid. configuration.json has 3 problems:")
    assert "domain: got 'https://acme.egnyte.com/x'; give the domain alone" in outcome.message
    assert "api_token: missing" in outcome.message and "retry_attempts: got 'many'" in outcome.message
    # Every other check says the same first, without calling Egnyte.
    later = setup_checks.check_token({"domain": "acme"})
    assert not later.passed and later.message.startswith("The configuration must be fixed first.")


def test_the_form_filled_in_with_only_the_domain_and_token_gives_the_settings_defaults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As `fivetran configuration` asks it: every field left blank but the domain and the token."""
    from fivetran_connector_sdk_cli.configuration_command import prompt_for_configuration

    answers = {"Egnyte domain: ": "acme", "API access token: ": "secret-token"}
    response = setup_form.configuration_form().to_response()
    saved = prompt_for_configuration(
        response.fields, lambda prompt: answers.get(prompt, ""), lambda prompt: answers.get(prompt, "")
    )
    capsys.readouterr()
    assert set(saved) == configuration_keys(CATALOG)
    settings = parse_settings(saved, CATALOG)
    expected = Settings(domain="acme", base_url="https://acme.egnyte.com", api_token="secret-token",
                        streams=tuple(stream.name for stream in CATALOG if stream.enabled_by_default))  # fmt: skip
    assert settings == expected


def test_the_limits_in_words_when_the_configuration_leaves_them_to_egnyte() -> None:
    auto = parse_settings({"domain": "acme", "api_token": "t"}, CATALOG)
    headers = {
        "X-Accesstoken-Qps-Allotted": "6",
        "X-Accesstoken-Quota-Allotted": "518400",
        "X-Accesstoken-Quota-Current": "69",
        "X-Quota-Reset": "Wednesday, April 17, 2024 12:00:00 AM GMT",
    }
    assert describe_limits(headers, auto) == (
        "Egnyte's limits for this token: 6 calls a second; 518,400 calls a day, 69 used so far today, the day ends "
        "2024-04-17 00:00 UTC. requests_per_second and daily_request_limit are auto: the connector follows them."
    )
    assert describe_limits({}, auto) == (
        "Egnyte reported no limits for this token (no X-Accesstoken headers); the connector keeps to "
        "requests_per_second=auto (Egnyte's default, 2) and daily_request_limit=auto (Egnyte's default, 1000)."
    )
