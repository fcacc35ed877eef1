"""Compact text for the sets of keys the state remembers, so that records deleted in Egnyte can be found.

Egnyte tells nobody what it deleted: a user, a group, a membership or a bookmark that is gone simply stops being
listed. The only way to see it is to remember which keys the previous complete scan saw and, when the current
scan completes, report those it did not see. Those keys live in the Fivetran state, which is a JSON dict that the
SDK checkpoints often and logs at every checkpoint, so it must stay small: about 2 MB for 100,000 users, 5,000
groups and 250,000 memberships. A JSON list of 100,000 eleven-digit ids alone is 1.3 MB, hence these encodings.

Every encoding is one JSON-safe string: a versioned prefix naming the kind (``i1:`` a set of integers, ``s1:`` a
set of strings, ``m1:`` a mapping from a key to a set of integers), then the base64 of a zlib stream (level 9) of
a binary payload. The payloads are made of LEB128 varints (7 bits a byte, the high bit saying "more follows"):

* **integers** (``i1:``): the count, then the sorted keys as the first one zigzag-encoded (so negative keys cost
  what positive ones do) and each next one as its gap to the previous minus one (the keys are distinct, so a gap
  is at least one). Egnyte's user ids are eleven digits but close together once sorted (the sandbox spaces them
  about 1,300 apart): two bytes each instead of twelve characters.
* **strings** (``s1:``): the number of canonical UUIDs (lowercase, 36 characters, how Egnyte writes group ids)
  and of other strings; the UUIDs sorted, 16 bytes each instead of 36 characters; the others sorted, each as its
  UTF-8 length and bytes. A string that only looks like a UUID (capitals, braces) is kept as written, so every
  key comes back exactly as it was.
* **mappings** (``m1:``): the kind of the keys (integers or strings), the layout, the keys as one of the two sets
  above (its order is the order of what follows), the size of each key's set, then the sets. Two layouts:
  ``raw`` writes each set as delta varints of its own values; ``indexed`` first writes every distinct value once
  (an integer set), then each set as delta varints of positions in that list. Group members are drawn from one
  pool of users, so positions (gaps of a few hundred) are shorter than raw ids (gaps of millions): ``indexed``
  measures a quarter smaller for memberships; where the sets share nothing (each bookmark has one owner) the two
  measure within a few percent. ``auto`` (the default) builds both payloads and keeps the smaller.

Integers are bounded to the signed 64-bit range of a Fivetran LONG column, which bounds every varint a decoder
reads. Keys are stored as the connector uses them as primary key values: ints for LONG keys, strings for STRING
keys; an int set refuses a string (a digit string from some Egnyte fixture must be converted by the caller first,
or it would come back as an int it never was).

Decoders are strict, because the caller treats an unreadable set as "start over" (report it, rebuild it): any
malformed text raises `ValueError` with the reason, never another exception, and every loop is bounded by the
length of the payload (the zlib output is capped too), so no text can make a decoder spin or fill the memory.

The connector's ledgers (`egnyte_async.ledger`) are saved with these texts: the last scan's scopes as a set (user
ids, group ids), the scopes new in the current scan as sets written in chunks, and the children (group id → member
user ids, user id → bookmark ids) as mappings written in chunks, each checkpoint adding only what changed.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Literal

INT_PREFIX = "i1:"
STR_PREFIX = "s1:"
MAP_PREFIX = "m1:"
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
#: A decoded payload larger than this is refused rather than inflated: a 2 MB state never holds that much, and a
#: forged zlib stream (1,000 to 1 at best) cannot make a decoder allocate more.
MAX_PAYLOAD = 256 << 20
#: The most bytes a varint of this module can take: 64 bits, 7 a byte.
_MAX_VARINT_BYTES = 10
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INT_KEYS, _STR_KEYS = 0, 1
_RAW, _INDEXED = 0, 1
Layout = Literal["auto", "raw", "indexed"]

# --- writing -------------------------------------------------------------------------------------------------


def _put(out: bytearray, n: int) -> None:
    """Appends the LEB128 varint of `n` (0 <= n < 2**64)."""
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int) -> int:
    """Maps a signed 64-bit int to an unsigned one, small magnitudes to small numbers: 0, -1, 1, -2 → 0, 1, 2, 3."""
    return (n << 1) if n >= 0 else ((-n) << 1) - 1


def _unzigzag(z: int) -> int:
    return (z >> 1) if not z & 1 else -((z + 1) >> 1)


def _put_sorted(out: bytearray, values: Iterable[int]) -> None:
    """Appends sorted distinct ints: the first zigzag-encoded, then each gap minus one."""
    previous: int | None = None
    for value in values:
        n = _zigzag(value) if previous is None else value - previous - 1
        previous = value
        if n < 0x80:  # the common cases inline: gaps of one, two or three bytes
            out.append(n)
        elif n < 0x4000:
            out += bytes(((n & 0x7F) | 0x80, n >> 7))
        elif n < 0x200000:
            out += bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
        else:
            _put(out, n)


def _checked_ints(keys: Iterable[int]) -> list[int]:
    """The keys sorted, once each; refuses anything that is not an int of the LONG range (bool included)."""
    values = sorted(set(keys))
    for value in (values[0], values[-1]) if values else ():
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"integer key out of the 64-bit range: {value}")
    for value in values:
        if type(value) is not int:
            raise TypeError(f"integer keys only, got {type(value).__name__} {value!r}")
    return values


def _int_set_payload(out: bytearray, values: list[int]) -> None:
    _put(out, len(values))
    _put_sorted(out, values)


def _split_strings(keys: Iterable[str]) -> tuple[list[bytes], list[bytes]]:
    """(canonical UUIDs as 16 bytes, other strings as UTF-8), each sorted: the order the payload keeps."""
    uuids: list[bytes] = []
    others: list[bytes] = []
    for key in set(keys):
        if type(key) is not str:
            raise TypeError(f"string keys only, got {type(key).__name__} {key!r}")
        if len(key) == 36 and _UUID.fullmatch(key):
            uuids.append(bytes.fromhex(key.replace("-", "")))
        else:
            others.append(key.encode("utf-8", "surrogatepass"))
    uuids.sort()
    others.sort()
    return uuids, others


def _str_set_payload(out: bytearray, uuids: list[bytes], others: list[bytes]) -> None:
    _put(out, len(uuids))
    _put(out, len(others))
    out += b"".join(uuids)
    for raw in others:
        _put(out, len(raw))
        out += raw


def _uuid_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _text(prefix: str, payload: bytes | bytearray) -> str:
    return prefix + base64.b64encode(zlib.compress(payload, 9)).decode("ascii")


def encode_int_set(keys: Iterable[int]) -> str:
    """The text of a set of integer keys (any int of the signed 64-bit range)."""
    out = bytearray()
    _int_set_payload(out, _checked_ints(keys))
    return _text(INT_PREFIX, out)


def encode_str_set(keys: Iterable[str]) -> str:
    """The text of a set of string keys (canonical UUIDs take 16 bytes, any other string its UTF-8)."""
    out = bytearray()
    _str_set_payload(out, *_split_strings(keys))
    return _text(STR_PREFIX, out)


def _mapping_payload(
    kind: int, layout: int, ordered_keys: list[Any], key_payload: bytes, sets: Mapping[Any, list[int]]
) -> bytearray:
    out = bytearray((kind, layout))
    out += key_payload
    for key in ordered_keys:
        _put(out, len(sets[key]))
    if layout == _RAW:
        for key in ordered_keys:
            _put_sorted(out, sets[key])
        return out
    pool = sorted({value for values in sets.values() for value in values})
    _int_set_payload(out, pool)
    position = {value: i for i, value in enumerate(pool)}
    for key in ordered_keys:
        _put_sorted(out, [position[value] for value in sets[key]])
    return out


def encode_mapping(mapping: Mapping[Any, Iterable[int]], layout: Layout = "auto") -> str:
    """The text of a mapping from keys (all ints or all strings) to sets of integer keys, e.g. a group's members.

    `layout` "auto" builds the "raw" and the "indexed" payloads (see the module's docstring) and keeps the smaller.
    """
    sets = {key: _checked_ints(values) for key, values in mapping.items()}
    head = bytearray()
    if all(type(key) is int for key in sets):  # an empty mapping too
        kind = _INT_KEYS
        ordered: list[Any] = _checked_ints(sets)
        _int_set_payload(head, ordered)
    else:
        kind = _STR_KEYS
        uuids, others = _split_strings(sets)
        _str_set_payload(head, uuids, others)
        ordered = [_uuid_text(raw) for raw in uuids] + [raw.decode("utf-8", "surrogatepass") for raw in others]
    layouts = {"raw": (_RAW,), "indexed": (_INDEXED,), "auto": (_RAW, _INDEXED)}[layout]
    texts = [_text(MAP_PREFIX, _mapping_payload(kind, code, ordered, bytes(head), sets)) for code in layouts]
    return min(texts, key=len)


# --- reading -------------------------------------------------------------------------------------------------


def _payload(text: Any, prefix: str, what: str) -> bytes:
    """The binary payload of `text`, or ValueError saying why there is none."""
    if type(text) is not str:
        raise ValueError(f"{what}: expected a string, got {type(text).__name__}")
    if not text.startswith(prefix):
        raise ValueError(f"{what}: expected a text starting with {prefix!r}, got {text[:12]!r}")
    try:
        packed = base64.b64decode(text[len(prefix) :].encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as e:
        raise ValueError(f"{what}: not base64 ({e})") from None
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(packed, MAX_PAYLOAD)
    except zlib.error as e:
        raise ValueError(f"{what}: not a zlib stream ({e})") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"{what}: the payload exceeds {MAX_PAYLOAD} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ValueError(f"{what}: the zlib stream is truncated or followed by other bytes")
    return payload


class _Reader:
    """Reads varints off a payload; every read consumes at least one byte or fails, so no loop outlives the data."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def fail(self, why: str) -> ValueError:
        return ValueError(f"{self.what}: {why} (at byte {self.pos} of {len(self.data)})")

    def varint(self) -> int:
        data, pos = self.data, self.pos
        result = shift = 0
        for i in range(_MAX_VARINT_BYTES):
            if pos + i >= len(data):
                raise self.fail("truncated")
            byte = data[pos + i]
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                self.pos = pos + i + 1
                if result >> 64:
                    raise self.fail("a number beyond 64 bits")
                return result
        raise self.fail("a number longer than 64 bits")

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def count(self, smallest: int = 1) -> int:
        """A count of items taking at least `smallest` bytes each, refused when the data left cannot hold them."""
        n = self.varint()
        if n * smallest > len(self.data) - self.pos:
            raise self.fail(f"a count of {n} that the data left cannot hold")
        return n

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise self.fail("truncated")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def sorted_ints(self, count: int, low: int = INT64_MIN, high: int = INT64_MAX) -> list[int]:
        """`count` ints written by `_put_sorted`, each checked to lie within [low, high]."""
        if count == 0:
            return []
        if count > len(self.data) - self.pos:
            raise self.fail(f"a count of {count} that the data left cannot hold")
        data, pos = self.data, self.pos
        end = len(data)
        values: list[int] = []
        value = 0
        for i in range(count):
            # Inlined varint read, the hot loop of every decoder.
            if pos >= end:
                self.pos = pos
                raise self.fail("truncated")
            byte = data[pos]
            pos += 1
            if byte < 0x80:
                n = byte
            else:
                n = byte & 0x7F
                shift = 7
                while True:
                    if pos >= end:
                        self.pos = pos
                        raise self.fail("truncated")
                    if shift >= 7 * _MAX_VARINT_BYTES:
                        self.pos = pos
                        raise self.fail("a number longer than 64 bits")
                    byte = data[pos]
                    pos += 1
                    n |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
            value = _unzigzag(n) if i == 0 else value + n + 1
            values.append(value)
        self.pos = pos
        if values[0] < low or values[-1] > high:
            raise self.fail(f"a number outside [{low}, {high}]")
        return values

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail("extra bytes after the data")


def _read_int_set(reader: _Reader) -> list[int]:
    return reader.sorted_ints(reader.count())


def _read_str_set(reader: _Reader) -> list[str]:
    """The strings in payload order: UUIDs, then the others."""
    n_uuids = reader.count(16)
    n_others = reader.count()
    raw = reader.take(16 * n_uuids)
    keys = [_uuid_text(raw[16 * i : 16 * i + 16]) for i in range(n_uuids)]
    for _ in range(n_others):
        try:
            keys.append(reader.take(reader.varint()).decode("utf-8", "surrogatepass"))
        except UnicodeDecodeError as e:
            raise reader.fail(f"a string that is not UTF-8 ({e.reason})") from None
    if len(set(keys)) != len(keys):
        raise reader.fail("a string repeated")
    return keys


def decode_int_set(text: Any) -> set[int]:
    """The set `encode_int_set` wrote into `text`; ValueError if `text` is not such a text."""
    reader = _Reader(_payload(text, INT_PREFIX, "integer key set"), "integer key set")
    values = _read_int_set(reader)
    reader.end()
    return set(values)


def decode_str_set(text: Any) -> set[str]:
    """The set `encode_str_set` wrote into `text`; ValueError if `text` is not such a text."""
    reader = _Reader(_payload(text, STR_PREFIX, "string key set"), "string key set")
    keys = _read_str_set(reader)
    reader.end()
    return set(keys)


def decode_mapping(text: Any) -> dict[Any, set[int]]:
    """The mapping `encode_mapping` wrote into `text`; ValueError if `text` is not such a text."""
    what = "key set mapping"
    reader = _Reader(_payload(text, MAP_PREFIX, what), what)
    kind, layout = reader.byte(), reader.byte()
    if kind not in (_INT_KEYS, _STR_KEYS) or layout not in (_RAW, _INDEXED):
        raise reader.fail(f"an unknown kind {kind} or layout {layout}")
    keys: list[Any] = _read_int_set(reader) if kind == _INT_KEYS else _read_str_set(reader)
    sizes = [reader.varint() for _ in keys]
    if sum(sizes) > len(reader.data) - reader.pos:
        raise reader.fail("set sizes that the data left cannot hold")
    result: dict[Any, set[int]]
    if layout == _RAW:
        result = {key: set(reader.sorted_ints(size)) for key, size in zip(keys, sizes, strict=True)}
    else:
        pool = _read_int_set(reader)
        result = {}
        for key, size in zip(keys, sizes, strict=True):
            positions = reader.sorted_ints(size, 0, len(pool) - 1)
            result[key] = {pool[i] for i in positions}
    reader.end()
    return result
