"""The key set texts round-trip any set and refuse anything else with ValueError only (hypothesis)."""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egnyte_async import keysets
from egnyte_async.keysets import (
    INT64_MAX,
    INT64_MIN,
    decode_int_set,
    decode_mapping,
    decode_str_set,
    encode_int_set,
    encode_mapping,
    encode_str_set,
)

int64s = st.integers(INT64_MIN, INT64_MAX)
#: Egnyte-like user ids (11 digits, close together) mixed with anything of the range.
ids = st.one_of(st.integers(12_824_000_000, 12_830_000_000), int64s, st.sampled_from([0, -1, 1, INT64_MIN, INT64_MAX]))
uuids = st.uuids().map(str)
#: Strings of every shape: canonical UUIDs, capitalised ones, non-ASCII, empty, lone surrogates.
strings = st.one_of(
    uuids,
    uuids.map(str.upper),
    st.text(),
    st.text(st.characters(codec=None, categories=["Cs", "Lo", "Nd"])),
    st.just(""),
)
DECODERS = (decode_int_set, decode_str_set, decode_mapping)


def _json_safe(text: str) -> None:
    assert text.isascii()
    assert json.loads(json.dumps(text)) == text
    assert '"' not in text and "\\" not in text


@given(st.sets(ids))
def test_int_sets_round_trip(keys: set[int]) -> None:
    text = encode_int_set(keys)
    _json_safe(text)
    decoded = decode_int_set(text)
    assert decoded == keys
    assert all(type(key) is int for key in decoded)


@given(st.sets(strings))
def test_str_sets_round_trip(keys: set[str]) -> None:
    text = encode_str_set(keys)
    _json_safe(text)
    decoded = decode_str_set(text)
    assert decoded == keys
    assert all(type(key) is str for key in decoded)


@given(
    st.one_of(
        st.dictionaries(strings, st.sets(ids)),
        st.dictionaries(ids, st.sets(ids)),
        # members shared between owners, as users between groups
        st.sets(ids, min_size=1).flatmap(
            lambda pool: st.dictionaries(uuids, st.sets(st.sampled_from(sorted(pool)))),
        ),
    ),
    st.sampled_from(["auto", "raw", "indexed"]),
)
def test_mappings_round_trip(mapping: dict[Any, set[int]], layout: keysets.Layout) -> None:
    text = encode_mapping(mapping, layout)
    _json_safe(text)
    assert decode_mapping(text) == mapping


def test_auto_keeps_the_smaller_layout() -> None:
    shared = {f"g{i}": set(range(10**9, 10**9 + 10**6, 997 + i)) for i in range(20)}
    disjoint = {i: {i * 10**6 + j for j in range(5)} for i in range(200)}
    for mapping in (shared, disjoint):
        sizes = [len(encode_mapping(mapping, layout)) for layout in ("raw", "indexed")]
        assert len(encode_mapping(mapping)) == min(sizes)


def test_empty_and_edge_sets() -> None:
    assert decode_int_set(encode_int_set([])) == set()
    assert decode_str_set(encode_str_set([])) == set()
    assert decode_mapping(encode_mapping({})) == {}
    assert decode_mapping(encode_mapping({"g": []})) == {"g": set()}
    assert decode_int_set(encode_int_set([INT64_MIN, INT64_MAX])) == {INT64_MIN, INT64_MAX}


def test_keys_keep_their_type() -> None:
    """An int set refuses digit strings (they would come back as ints) and bools; a string set refuses ints."""
    for bad in (["12824215693"], [True], [1.0]):
        with pytest.raises(TypeError):
            encode_int_set(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_str_set([12824215693])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="64-bit"):
        encode_int_set([INT64_MAX + 1])
    assert decode_str_set(encode_str_set(["12824215693"])) == {"12824215693"}


def test_canonical_uuids_take_16_bytes() -> None:
    keys = [f"{i:08x}-0000-4000-8000-{i * 7919:012x}" for i in range(1000)]
    assert len(encode_str_set(keys)) < 1000 * 16 * 1.4


# --- malformed texts -------------------------------------------------------------------------------------------


def _wrap(prefix: str, payload: bytes) -> str:
    return prefix + base64.b64encode(zlib.compress(payload)).decode()


def _decode_or_value_error(decoder: Any, text: Any) -> None:
    """Decodes `text`, letting through ValueError only: any other exception fails the test."""
    with contextlib.suppress(ValueError):
        decoder(text)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(DECODERS),
    st.one_of(
        st.text(),
        st.binary().map(lambda b: "i1:" + base64.b64encode(b).decode()),
        st.binary().map(lambda b: _wrap("i1:", b)),
        st.binary().map(lambda b: _wrap("s1:", b)),
        st.binary().map(lambda b: _wrap("m1:", b)),
        st.binary(max_size=12).map(lambda b: _wrap("m1:", bytes([0, 1]) + b)),
        st.binary(max_size=12).map(lambda b: _wrap("m1:", bytes([1, 0]) + b)),
        st.none(),
        st.integers(),
        st.lists(st.integers()),
        st.dictionaries(st.text(), st.integers()),
    ),
)
def test_garbage_raises_value_error_only(decoder: Any, text: Any) -> None:
    _decode_or_value_error(decoder, text)


@st.composite
def damaged(draw: st.DrawFn) -> tuple[Any, str]:
    """A valid text of some set, then cut, flipped, extended or with its payload altered before compression."""
    kind = draw(st.sampled_from(["int", "str", "map"]))
    if kind == "int":
        decoder: Any = decode_int_set
        text = encode_int_set(draw(st.sets(ids, max_size=30)))
    elif kind == "str":
        decoder = decode_str_set
        text = encode_str_set(draw(st.sets(strings, max_size=10)))
    else:
        decoder = decode_mapping
        text = encode_mapping(
            draw(st.dictionaries(st.one_of(uuids, st.text(max_size=5)), st.sets(ids, max_size=8), max_size=6)),
            draw(st.sampled_from(["raw", "indexed"])),
        )
    prefix, body = text[:3], text[3:]
    payload = bytearray(zlib.decompress(base64.b64decode(body)))
    how = draw(st.sampled_from(["cut text", "cut payload", "flip", "append", "insert", "prefix"]))
    if how == "cut text":
        return decoder, text[: draw(st.integers(0, len(text) - 1))]
    if how == "cut payload":
        return decoder, _wrap(prefix, bytes(payload[: draw(st.integers(0, max(0, len(payload) - 1)))]))
    if how == "prefix":
        return decoder, draw(st.sampled_from(["i1:", "s1:", "m1:", "i2:", "v1:", ""])) + body
    if payload:
        at = draw(st.integers(0, len(payload) - 1))
        if how == "flip":
            payload[at] ^= draw(st.integers(1, 255))
        elif how == "insert":
            payload[at:at] = draw(st.binary(min_size=1, max_size=11))
    if how == "append" or not payload:
        payload += draw(st.binary(min_size=1, max_size=11))
    return decoder, _wrap(prefix, bytes(payload))


@given(damaged())
def test_damaged_texts_raise_value_error_only(case: tuple[Any, str]) -> None:
    decoder, text = case
    _decode_or_value_error(decoder, text)


@pytest.mark.parametrize(
    ("decoder", "text", "why"),
    [
        (decode_int_set, 12, "expected a string"),
        (decode_int_set, "s1:" + encode_int_set([1])[3:], "starting with"),
        (decode_int_set, "i1:@@@", "not base64"),
        (decode_int_set, "i1:" + base64.b64encode(b"nope").decode(), "not a zlib"),
        (decode_int_set, encode_int_set([1, 2])[:-4], "base64|zlib|truncated"),
        (decode_int_set, _wrap("i1:", bytes([5, 0])), "count of 5"),
        (decode_int_set, _wrap("i1:", bytes([1, 2, 0])), "extra bytes"),
        (decode_int_set, _wrap("i1:", bytes([1]) + b"\xff" * 11), "longer than 64 bits|count"),
        (decode_int_set, _wrap("i1:", bytes([2, 0xFE] + [0xFF] * 8 + [0x01, 0x7F])), "outside"),
        (decode_str_set, _wrap("s1:", bytes([0, 2, 1, 65, 1, 65])), "repeated"),
        (decode_str_set, _wrap("s1:", bytes([0, 1, 1, 0xFF])), "UTF-8"),
        (decode_mapping, _wrap("m1:", bytes([7, 0, 0])), "unknown kind"),
        (decode_mapping, _wrap("m1:", bytes([0, 1, 1, 2, 1, 0, 0])), "outside|count"),
    ],
)
def test_reasons(decoder: Any, text: Any, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decoder(text)


def test_zlib_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keysets, "MAX_PAYLOAD", 1000)
    with pytest.raises(ValueError, match="exceeds"):
        decode_int_set(_wrap("i1:", bytes(5000)))
