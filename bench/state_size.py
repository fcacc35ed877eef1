"""How large the state grows with the ledgers that find deleted records: `python -m bench.state_size`.

Method. Synthetic data with the shapes of a large tenant, drawn from a fixed seed (the same numbers every run):

* 100,000 user ids as the sandbox makes them (`egnyte_sandbox.users`): USER_ID_BASE + (i + 1) × 1,024 + a jitter
  in [0, 512), eleven digits increasing with creation like Egnyte's. A second, sparser shape (ids drawn uniformly
  over three billion values, as if the tenant's users were scattered among other tenants' in one global
  sequence) shows how the size depends on the gaps.
* 5,000 group ids, random UUIDs in lowercase canonical text.
* 250,000 memberships: group sizes drawn from a lognormal distribution (σ = 1.5: a few groups of thousands,
  most of a handful), scaled to 250,000 in all (an average of 50), each at least 1 and at most the users; the
  members of a group drawn uniformly among the users.
* 200,000 bookmark ids: a global increasing sequence (gaps of 1 to 40) shared out among 40% of the users, the
  number per user skewed like the group sizes.

From them, the three `egnyte_async.ledger.Ledger` objects the connector keeps, with the streams' own specs and
holding what a complete scan leaves in them: users (`streams.users.LEDGER`: every user id → no children), groups
(`streams.groups.LEDGER`: every group id → its members' user ids) and bookmarks (`streams.bookmarks.LEDGER`: every
user id → the ids of their bookmarks; the bookmarks stream lists every user, so the 60% without bookmarks are
scopes with no children). Each ledger's `to_state()` is serialised with `json.dumps`, as the SDK writes the
state; "bytes" are the bytes of that JSON. Two moments: *at rest* (a scan done: `met` empty) and *mid-scan* (half
the scopes met, in the order a scan meets them: users and their bookmarks in id order, as SCIM lists users;
groups in the listing's order, unrelated to their ids). "met as ids" is the same mid-scan moment with the met
scopes saved as a set of their own ids rather than of their positions among the known scopes (which the ledger
does not do). The whole is the JSON of the `{"users": ..., "groups": ..., "bookmarks": ...}` dict the connector
saves under "ledgers".

Times, each the best of three runs on this machine, with the garbage collector on as in a sync (a collection
before each run): *encode* is `to_state()` mid-scan with the cached text of `known` cleared (`_known_text =
None`), what a checkpoint costs after the scopes or their children changed; *checkpoint* is `to_state()` mid-scan
after 10,000 more scopes were met with the children they already had (all the scopes left when fewer remain), the
cache warm: only `met` is re-encoded; *decode* is `Ledger.from_state`. The whole's times are the sums, since a
checkpoint saves the three ledgers.

The second table compares the layouts and text forms measured before choosing, on the `known` part at rest: plain
JSON (a list of the user ids; for groups and bookmarks an object of lists), the varints without compression, zlib
then base64 (chosen), base85, lzma and bz2 in place of zlib, and for mappings the "raw" and "indexed" layouts (see
`egnyte_async.keysets`); the last row is the bookmark ids as one flat set, which the ledger does not keep (see
bench/README.md).
"""

from __future__ import annotations

import base64
import bz2
import gc
import json
import lzma
import random
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from egnyte_async import keysets
from egnyte_async.ledger import Ledger, LedgerSpec, Scope
from egnyte_async.log import NullLog
from egnyte_async.streams import bookmarks as bookmarks_stream
from egnyte_async.streams import groups as groups_stream
from egnyte_async.streams import users as users_stream
from egnyte_sandbox.users import USER_ID_BASE, USER_ID_STRIDE

SEED = 20261129
USERS = 100_000
GROUPS = 5_000
MEMBERSHIPS = 250_000
BOOKMARKS = 200_000
CHECKPOINT_SCOPES = 10_000
MB = 1_000_000


def user_ids(rng: random.Random, sparse: bool = False) -> list[int]:
    if sparse:
        return sorted(rng.sample(range(10_000_000_000, 13_000_000_000), USERS))
    return [USER_ID_BASE + (i + 1) * USER_ID_STRIDE + rng.randrange(USER_ID_STRIDE // 2) for i in range(USERS)]


def skewed_sizes(rng: random.Random, count: int, total: int, cap: int) -> list[int]:
    """`count` sizes summing to `total`, lognormal (a few large, many small), each within [1, cap]."""
    weights = [rng.lognormvariate(0.0, 1.5) for _ in range(count)]
    scale = total / sum(weights)
    sizes = [min(cap, max(1, round(w * scale))) for w in weights]
    order = sorted(range(count), key=lambda i: -sizes[i])
    i = 0
    while sum(sizes) != total:  # settle the rounding on the largest
        step = 1 if sum(sizes) < total else -1
        j = order[i % len(order)]
        if 1 <= sizes[j] + step <= cap:
            sizes[j] += step
        i += 1
    return sizes


def memberships(rng: random.Random, users: list[int], groups: list[str]) -> dict[str, list[int]]:
    sizes = skewed_sizes(rng, len(groups), MEMBERSHIPS, len(users))
    return {group: rng.sample(users, size) for group, size in zip(groups, sizes, strict=True)}


def bookmarks(rng: random.Random, users: list[int]) -> dict[int, list[int]]:
    owners = rng.sample(users, len(users) * 2 // 5)
    sizes = skewed_sizes(rng, len(owners), BOOKMARKS, BOOKMARKS)
    ids, next_id = [], 3_100_000_000
    for _ in range(BOOKMARKS):
        next_id += rng.randint(1, 40)
        ids.append(next_id)
    rng.shuffle(ids)
    out, at = {}, 0
    for owner, size in zip(owners, sizes, strict=True):
        out[owner] = ids[at : at + size]
        at += size
    return out


def json_bytes(value: Any) -> int:
    return len(json.dumps(value).encode())


def best_of(runs: int, action: Callable[[], Any], setup: Callable[[], Any] = lambda: None) -> tuple[float, Any]:
    """The shortest time of `runs` calls of `action` (each after an untimed `setup` and a garbage collection), and
    the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        setup()
        gc.collect()
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


class Part:
    """One ledger as a complete scan leaves it, and the order in which the next scan meets its scopes."""

    def __init__(self, name: str, spec: LedgerSpec, known: dict[Scope, frozenset[int]], scan: list[Scope]) -> None:
        self.name, self.spec, self.known, self.scan = name, spec, known, scan
        self.half = len(scan) // 2

    def ledger(self, met: int) -> Ledger:
        """The ledger with the first `met` scopes of the scan met (`refresh` with the children they had)."""
        ledger = Ledger(self.spec, dict(self.known))
        for scope in self.scan[:met]:
            ledger.refresh(scope, self.known[scope])
        return ledger

    def children(self) -> int:
        return sum(map(len, self.known.values()))


def measure(part: Part) -> dict[str, Any]:
    rest = part.ledger(0)
    mid = part.ledger(part.half)
    rest_state, mid_state = rest.to_state(), mid.to_state()
    assert rest_state["known"] == mid_state["known"]

    def clear() -> None:
        mid._known_text = None

    encode_s, _ = best_of(3, mid.to_state, clear)

    more = part.scan[part.half : part.half + CHECKPOINT_SCOPES]

    def meet_more() -> None:
        mid.met = set(part.scan[: part.half])
        mid.to_state()  # the cache is warm
        for scope in more:
            mid.refresh(scope, part.known[scope])

    checkpoint_s, _ = best_of(3, mid.to_state, meet_more)
    assert mid._known_text is not None and len(mid.met) == part.half + len(more)

    decode_s, decoded = best_of(3, lambda: Ledger.from_state(part.spec, mid_state, part.name, NullLog()))
    assert decoded.known == part.known and decoded.met == set(part.scan[: part.half]), "round trip"

    met_scopes = part.scan[: part.half]
    met_ids = (
        keysets.encode_int_set(met_scopes)  # type: ignore[arg-type]
        if all(type(scope) is int for scope in met_scopes)
        else keysets.encode_str_set(met_scopes)  # type: ignore[arg-type]
    )
    return {
        "rest": rest_state,
        "mid": mid_state,
        "met as ids": json_bytes({"known": mid_state["known"], "met": met_ids}),
        "checkpoint scopes": len(more),
        "encode": encode_s,
        "checkpoint": checkpoint_s,
        "decode": decode_s,
    }


def alternatives(text: str) -> dict[str, int]:
    """JSON bytes of the same payload in other text forms and compressors."""
    payload = zlib.decompress(base64.b64decode(text[3:]))
    packed = zlib.compress(payload, 9)
    xz = lzma.compress(
        payload, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
    )
    return {
        "varints, base64": json_bytes(base64.b64encode(payload).decode()),
        "zlib, base64": json_bytes(text),
        "zlib, base85": json_bytes(base64.b85encode(packed).decode()),
        "lzma, base64": json_bytes(base64.b64encode(xz).decode()),
        "bz2, base64": json_bytes(base64.b64encode(bz2.compress(payload, 9)).decode()),
    }


def mb(size: int) -> str:
    return f"{size / MB:.3f} MB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> int:
    rng = random.Random(SEED)
    users = user_ids(rng)
    sparse = user_ids(rng, sparse=True)
    groups = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(GROUPS)]
    members = memberships(rng, users, groups)
    owned = bookmarks(rng, users)
    sizes = sorted(map(len, members.values()))
    per_owner = sorted(map(len, owned.values()))
    print(
        f"{USERS:,} users, {GROUPS:,} groups, {sum(sizes):,} memberships (group sizes: median"
        f" {sizes[len(sizes) // 2]}, largest {sizes[-1]:,}, {sum(s <= 10 for s in sizes):,} groups of ≤ 10),"
        f" {sum(per_owner):,} bookmarks of {len(owned):,} users (median {per_owner[len(per_owner) // 2]},"
        f" largest {per_owner[-1]:,})\n"
    )
    no_children: frozenset[int] = frozenset()
    parts = [
        Part("users", users_stream.LEDGER, {user: no_children for user in users}, list(users)),
        Part("groups", groups_stream.LEDGER, {g: frozenset(m) for g, m in members.items()}, list(groups)),
        Part(
            "bookmarks",
            bookmarks_stream.LEDGER,
            {user: frozenset(owned.get(user, ())) for user in users},
            list(users),
        ),
    ]
    print("| ledger | scopes | children | at rest | mid-scan | mid-scan, met as ids | encode | checkpoint | decode |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    results: dict[str, dict[str, Any]] = {}
    for part in parts:
        r = results[part.name] = measure(part)
        more = "" if r["checkpoint scopes"] == CHECKPOINT_SCOPES else f" ({r['checkpoint scopes']:,} more)"
        print(
            f"| {part.name} | {len(part.known):,} | {part.children():,} | {mb(json_bytes(r['rest']))}"
            f" | {mb(json_bytes(r['mid']))} | {mb(r['met as ids'])} | {ms(r['encode'])}"
            f" | {ms(r['checkpoint'])}{more} | {ms(r['decode'])} |"
        )
    for label, names in (("users + groups", ("users", "groups")), ("all three", tuple(results))):
        rest = json_bytes({name: results[name]["rest"] for name in names})
        mid = json_bytes({name: results[name]["mid"] for name in names})
        times = " | ".join(ms(sum(results[n][what] for n in names)) for what in ("encode", "checkpoint", "decode"))
        print(f"| **{label}** | | | **{mb(rest)}** | **{mb(mid)}** | | {times} |")
    sparse_bytes = json_bytes(Ledger(users_stream.LEDGER, {user: no_children for user in sparse}).to_state())
    print(f"\nUsers with sparse ids (gaps of ~30,000 instead of ~1,300): {mb(sparse_bytes)} at rest.\n")

    print("Alternatives (JSON bytes of `known` at rest, in MB):\n")
    print("| set | plain JSON | varints, base64 | zlib, base64 | zlib, base85 | lzma, base64 | bz2, base64 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    users_known = parts[0].known
    sparse_known = {user: no_children for user in sparse}
    bookmarks_known = parts[2].known
    flat_bookmarks = [b for bs in owned.values() for b in bs]
    by_id = {str(k): sorted(v) for k, v in bookmarks_known.items()}
    cases: list[tuple[str, Any, str]] = [
        ("users", users, keysets.encode_mapping(users_known)),
        ("users, sparse ids", sparse, keysets.encode_mapping(sparse_known)),
        ("groups, raw", members, keysets.encode_mapping(members, "raw")),
        ("groups, indexed", members, keysets.encode_mapping(members, "indexed")),
        ("bookmarks per user, raw", by_id, keysets.encode_mapping(bookmarks_known, "raw")),
        ("bookmarks per user, indexed", by_id, keysets.encode_mapping(bookmarks_known, "indexed")),
        ("bookmarks, one flat set", flat_bookmarks, keysets.encode_int_set(flat_bookmarks)),
    ]
    for name, plain, text in cases:
        cells = " | ".join(f"{size / MB:.3f}" for size in alternatives(text).values())
        print(f"| {name} | {json_bytes(plain) / MB:.3f} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
