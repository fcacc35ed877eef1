"""Every date format Egnyte uses must land on the same instant and the same canonical text."""

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egnyte_async import dates
from egnyte_async.dates import format_for_notes_filter, parse_egnyte_datetime, to_utc_iso

UTC = timezone.utc
MOMENT = datetime(2016, 5, 18, 17, 56, 39, 975000, tzinfo=UTC)
CANONICAL = "2016-05-18T17:56:39.975Z"


@pytest.mark.parametrize(
    "value",
    [
        "2016-05-18T17:56:39.975+0000",
        "2016-05-18T17:56:39.975Z",
        "2016-05-18T17:56:39.975z",
        "2016-05-18T17:56:39.975+00:00",
        "2016-05-18T17:56:39.975-00:00",
        "2016-05-18T23:26:39.975+0530",
        "2016-05-18T23:26:39.975+05:30",
        "2016-05-18T10:56:39.975-07:00",
        "2016-05-18T10:56:39.975-0700",
        "2016-05-18T10:56:39.975-07",
        "2016-05-18T17:56:39.975",
        "2016-05-18 17:56:39.975",
        "2016-05-18T17:56:39.975000Z",
        "2016-05-18T17:56:39.9751Z",
        "2016-05-18T17:56:39.97512Z",
        "2016-05-18T17:56:39.975999+0000",
        "  2016-05-18T17:56:39.975Z\n",
        1463594199975,
        "1463594199975",
        1463594199.975,
        "1463594199.975",
        MOMENT,
        MOMENT.astimezone(timezone(timedelta(hours=-3))),
        MOMENT.replace(tzinfo=None),
    ],
)
def test_every_format_of_the_same_instant_renders_the_same(value):
    assert to_utc_iso(value) == CANONICAL


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-05-18T17:56:39Z", "2016-05-18T17:56:39.000Z"),
        ("2016-05-18T17:56:39+0000", "2016-05-18T17:56:39.000Z"),
        ("2016-05-18T17:56:39.9Z", "2016-05-18T17:56:39.900Z"),
        ("2016-05-18T17:56:39.97Z", "2016-05-18T17:56:39.970Z"),
        ("2016-05-18", "2016-05-18T00:00:00.000Z"),
        (date(2016, 5, 18), "2016-05-18T00:00:00.000Z"),
        ("Tue, 14 Apr 2015 09:25:21 GMT", "2015-04-14T09:25:21.000Z"),
        ("Tue, 14 Apr 2015 09:25:21 +0200", "2015-04-14T07:25:21.000Z"),
        ("Tue, 14 Apr 2015 09:25:21 -0000", "2015-04-14T09:25:21.000Z"),
        ("14 Apr 2015 09:25:21 GMT", "2015-04-14T09:25:21.000Z"),
        (1463594199, "2016-05-18T17:56:39.000Z"),
        ("1463594199", "2016-05-18T17:56:39.000Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (-86400, "1969-12-31T00:00:00.000Z"),
        (99_999_999_999, "5138-11-16T09:46:39.000Z"),
        (100_000_000_000, "1973-03-03T09:46:40.000Z"),
        ("2016-12-31T23:30:00-01:00", "2017-01-01T00:30:00.000Z"),
        ("2016-05-18T17:56:39.9999999Z", "2016-05-18T17:56:39.999Z"),
    ],
)
def test_formats_and_precision(value, expected):
    assert to_utc_iso(value) == expected


@pytest.mark.parametrize("value", [None, "", "   "])
def test_nothing_is_none(value):
    assert parse_egnyte_datetime(value) is None
    assert to_utc_iso(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2016-13-01",
        "2016-02-30T00:00:00Z",
        "2016-05-18T25:00:00Z",
        "2016-05-18T17:56:39.975+2500",
        "2016-05-18T17:56:39.x5Z",
        "2016-05-18Tnoon",
        "Tue, 32 Apr 2015 09:25:21 GMT",
        "1e5",
        "12:30",
        "0001-01-01T00:00:00+0100",
        True,
        [2016, 5, 18],
        {"date": "2016-05-18"},
        float("nan"),
        float("inf"),
        10**30,
    ],
)
def test_unreadable_values_raise_value_error_naming_them(value):
    with pytest.raises(ValueError, match=re.escape(repr(value)[:20])):
        to_utc_iso(value)


def test_result_is_aware_utc():
    moment = parse_egnyte_datetime("2016-05-18T23:26:39.975+0530")
    assert moment == MOMENT
    assert moment.tzinfo is UTC


def test_naive_values_are_taken_as_utc():
    assert parse_egnyte_datetime("2016-05-18T17:56:39.975") == MOMENT
    assert parse_egnyte_datetime(MOMENT.replace(tzinfo=None)).tzinfo is UTC


@pytest.mark.parametrize(
    ("style", "expected"),
    [("iso", "2016-05-18T17:56:39Z"), ("date", "2016-05-18")],
)
def test_notes_filter_styles(style, expected):
    assert format_for_notes_filter(MOMENT, style) == expected
    shifted = MOMENT.astimezone(timezone(timedelta(hours=9)))  # already the 19th locally
    assert format_for_notes_filter(shifted, style) == expected
    assert format_for_notes_filter(MOMENT.replace(tzinfo=None), style) == expected


def test_notes_filter_rejects_unknown_style():
    with pytest.raises(ValueError, match="'epoch'"):
        format_for_notes_filter(MOMENT, "epoch")


# ---- round trips: whatever the rendering, the instant survives at the rendered precision ----

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes)),
)
moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30)).map(
    lambda naive: naive.replace(tzinfo=UTC),
)


def _offset_text(moment: datetime, colon: bool) -> str:
    minutes = int(moment.utcoffset().total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


def _wall(moment: datetime, digits: int) -> str:
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}"
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text


def _truncate(moment: datetime, digits: int) -> datetime:
    unit = 10 ** (6 - digits)
    return moment.replace(microsecond=moment.microsecond // unit * unit)


@given(moment=moments, offset=offsets, digits=st.integers(0, 6), colon=st.booleans())
def test_round_trip_iso_with_offset(moment, offset, digits, colon):
    local = moment.astimezone(offset)
    text = _wall(local, digits) + _offset_text(local, colon)
    assert parse_egnyte_datetime(text) == _truncate(moment, digits)


@given(moment=moments, digits=st.integers(0, 6), suffix=st.sampled_from(["Z", "+0000", "+00:00", ""]))
def test_round_trip_iso_in_utc(moment, digits, suffix):
    text = _wall(moment, digits) + suffix
    assert parse_egnyte_datetime(text) == _truncate(moment, digits)


@given(moment=moments)
def test_round_trip_date_only(moment):
    expected = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    assert parse_egnyte_datetime(moment.date().isoformat()) == expected


@given(moment=moments)
def test_round_trip_rfc_1123(moment):
    assert parse_egnyte_datetime(format_datetime(moment, usegmt=True)) == moment.replace(microsecond=0)


@given(moment=moments.filter(lambda moment: moment >= datetime(1973, 3, 4, tzinfo=UTC)), as_text=st.booleans())
def test_round_trip_epoch_milliseconds(moment, as_text):
    milliseconds = (moment - dates._EPOCH) // timedelta(milliseconds=1)
    value = str(milliseconds) if as_text else milliseconds
    assert parse_egnyte_datetime(value) == _truncate(moment, 3)


@given(moment=moments.filter(lambda moment: moment < datetime(5138, 11, 16, tzinfo=UTC)), as_text=st.booleans())
def test_round_trip_epoch_seconds(moment, as_text):
    seconds = (moment - dates._EPOCH) // timedelta(seconds=1)
    value = str(seconds) if as_text else seconds
    assert parse_egnyte_datetime(value) == _truncate(moment, 0)


@given(moment=moments, offset=offsets, digits=st.integers(0, 6), colon=st.booleans())
def test_canonical_text_matches_the_instant_whatever_the_path(moment, offset, digits, colon):
    local = moment.astimezone(offset)
    for text in (_wall(local, digits) + _offset_text(local, colon), _wall(moment, digits) + "+0000"):
        expected = _truncate(parse_egnyte_datetime(text), 3)
        rendered = to_utc_iso(text)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rendered)
        assert datetime.fromisoformat(rendered.replace("Z", "+00:00")) == expected
        assert to_utc_iso(rendered) == rendered


# ---- the Python 3.10 rewrite, exercised on any interpreter ----

PY310_SHAPE = re.compile(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{6})?)?([+-]\d\d:\d\d)?)?")


@given(moment=moments, offset=offsets, digits=st.integers(0, 6), colon=st.booleans(), zulu=st.booleans())
def test_py310_rewrite_reads_every_iso_variant(moment, offset, digits, colon, zulu):
    local = moment if zulu else moment.astimezone(offset)
    text = _wall(local, digits) + ("Z" if zulu else _offset_text(local, colon))
    assert dates._fromisoformat_compat(text) == _truncate(moment, digits)


@pytest.mark.parametrize(
    "text",
    [
        "2016-05-18T17:56:39.975+0000",
        "2016-05-18T17:56:39.9Z",
        "2016-05-18T17:56:39-07",
        "2016-05-18T17:56:39.123456789+05:30",
        "2016-05-18",
        "2016-05-18 17:56",
    ],
)
def test_py310_rewrite_produces_what_310_reads(text, monkeypatch):
    seen = []

    def strict_fromisoformat(candidate):
        seen.append(candidate)
        assert PY310_SHAPE.fullmatch(candidate), candidate
        return datetime.fromisoformat(candidate)

    fake_datetime = type("FakeDatetime", (), {"fromisoformat": staticmethod(strict_fromisoformat)})
    monkeypatch.setattr(dates, "datetime", fake_datetime)
    dates._fromisoformat_compat(text)
    assert seen


def test_py310_path_end_to_end(monkeypatch):
    monkeypatch.setattr(dates, "_fromisoformat", dates._fromisoformat_compat)
    assert to_utc_iso("2016-05-18T23:26:39.975+0530") == CANONICAL
    assert to_utc_iso("2016-05-18T17:56:39.975+0000") == CANONICAL
    with pytest.raises(ValueError, match=re.escape("2016-05-18T17:56:39.x5Z")):
        to_utc_iso("2016-05-18T17:56:39.x5Z")
