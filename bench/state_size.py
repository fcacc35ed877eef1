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

From them, the three `egnyte_async.ledger.Ledger` objects the connector keeps, with the streams' own specs: users
(`streams.users.LEDGER`: every user id, no children), groups (`streams.groups.LEDGER`: every group id → its
members' user ids) and bookmarks (`streams.bookmarks.LEDGER`: every user id → the ids of their bookmarks; the
stream lists every user, so the 60% without bookmarks are scopes without children). A scan meets the scopes in
the order the connector does: users and their bookmarks in id order, as SCIM lists users; groups in the listing's
order, unrelated to their ids. Each `to_state()` is serialised with `json.dumps`, as the SDK writes the state;
"bytes" are the bytes of that JSON. Three moments:

* *at rest*: a first scan refreshed every scope with its children, then `complete()`; then `to_state()` (the
  scopes as one text, an empty bitmap, no added chunk, one chunk of every scope's children);
* *mid-scan*: the next scan, from that ledger, has refreshed half the scopes (with the children they already
  had), `to_state()` called after every 10,000 refreshes as the drain checkpoints (every `checkpoint_rows` =
  10,000 rows) and once at the half; the size is the last one's;
* *first scan*: the same half of a first scan (an empty ledger), checkpointed the same way: every scope met is
  new, so the state is the `added` chunks (one per checkpoint) and the children chunks.

The whole is the JSON of the `{"users": ..., "groups": ..., "bookmarks": ...}` dict the connector saves under
"ledgers". Every state is read back with `Ledger.from_state` and must give the same `known` and `met`.

Times, each the best of three runs on this machine, with the garbage collector on as in a sync (a collection
before each run): *checkpoint* is one `to_state()` mid-scan after 10,000 more refreshes (all the scopes left when
fewer remain), on a ledger read back from the mid-scan state and saved once since, as in a sync: in the next scan
only the bitmap of met scopes is written anew, in a first scan the added scopes and changed children of those
10,000 too; *after complete* is the `to_state()` that follows `complete()` at the end of the next scan, which
re-encodes the scopes and every child; *from_state* reads the mid-scan state. The whole's times are the sums,
since a checkpoint saves the three ledgers. Last, the memory a users ledger of 1,000,000 users holds (tracemalloc:
a first scan refreshing every user, then `complete()`), and its peak while being built.

The second table compares the text forms measured before choosing, on the ledger's parts at rest, encoded with
`egnyte_async.keysets` directly: plain JSON (a list of the ids; for groups and bookmarks an object of lists), the
varints without compression, zlib then base64 (chosen), base85, lzma and bz2 in place of zlib, and for mappings
the "raw" and "indexed" layouts; the last row is the bookmark ids as one flat set, which the ledger does not keep
(see bench/README.md).
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
import tracemalloc
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
MEMORY_USERS = 1_000_000
MB = 1_000_000


def user_ids(rng: random.Random, sparse: bool = False, count: int = USERS) -> list[int]:
    if sparse:
        return sorted(rng.sample(range(10_000_000_000, 13_000_000_000), count))
    return [USER_ID_BASE + (i + 1) * USER_ID_STRIDE + rng.randrange(USER_ID_STRIDE // 2) for i in range(count)]


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
    """One ledger's scopes with their children, and the order in which a scan meets the scopes."""

    def __init__(self, name: str, spec: LedgerSpec, known: dict[Scope, frozenset[int]], scan: list[Scope]) -> None:
        self.name, self.spec, self.known, self.scan = name, spec, known, scan
        self.half = len(scan) // 2

    def children(self) -> int:
        return sum(map(len, self.known.values()))

    def meet(self, ledger: Ledger, start: int, stop: int, checkpoint: bool = False) -> None:
        """Refresh the scan's scopes from `start` to `stop` with their children; with `checkpoint`, `to_state()`
        after every CHECKPOINT_SCOPES of them and at `stop`, as the drain saves the state."""
        for at in range(start, stop, CHECKPOINT_SCOPES):
            for scope in self.scan[at : min(stop, at + CHECKPOINT_SCOPES)]:
                ledger.refresh(scope, self.known[scope])
            if checkpoint:
                ledger.to_state()

    def read(self, state: dict[str, Any]) -> Ledger:
        return Ledger.from_state(self.spec, json.loads(json.dumps(state)), self.name, NullLog())


def round_trip(part: Part, ledger: Ledger, state: dict[str, Any]) -> None:
    decoded = part.read(state)
    assert decoded.known == ledger.known and decoded.met == ledger.met, f"{part.name}: round trip"


def measure(part: Part) -> dict[str, Any]:
    half, more = part.half, min(CHECKPOINT_SCOPES, len(part.scan) - part.half)

    # At rest: a first scan met every scope, then completed.
    ledger = Ledger(part.spec)
    part.meet(ledger, 0, len(part.scan))
    assert not ledger.complete(), "a first scan deletes nothing"
    rest = ledger.to_state()
    assert ledger.known == part.known and not ledger.met_any()
    round_trip(part, ledger, rest)

    # Mid-scan: the next scan has met half the scopes, checkpointing as it went.
    part.meet(ledger, 0, half, checkpoint=True)
    mid = ledger.to_state()
    assert ledger.known == part.known and ledger.met == set(part.scan[:half])
    round_trip(part, ledger, mid)

    # Mid-way through a first scan: every scope met is new.
    first_ledger = Ledger(part.spec)
    part.meet(first_ledger, 0, half, checkpoint=True)
    first = first_ledger.to_state()
    assert first_ledger.met == set(part.scan[:half])
    round_trip(part, first_ledger, first)

    # One checkpoint: 10,000 more scopes met since the last one, on a ledger read back and saved once since.
    def checkpoint_after_more(state: dict[str, Any]) -> float:
        holder: list[Ledger] = []

        def setup() -> None:
            holder[:] = [part.read(state)]
            holder[0].to_state()
            part.meet(holder[0], half, half + more)

        def action() -> Any:
            return holder[0].to_state()

        return best_of(3, action, setup)[0]

    checkpoint_s = checkpoint_after_more(mid)
    first_checkpoint_s = checkpoint_after_more(first)

    # The end of the next scan: complete(), then a to_state that re-encodes the scopes and every child.
    completed: list[Ledger] = []

    def complete_scan() -> None:
        completed[:] = [part.read(mid)]
        completed[0].to_state()
        part.meet(completed[0], half, len(part.scan), checkpoint=True)
        assert not completed[0].complete(), "every scope was met"

    complete_s, after = best_of(3, lambda: completed[0].to_state(), complete_scan)
    assert after["scopes"] == rest["scopes"] and after["children"] == rest["children"]

    decode_s, decoded = best_of(3, lambda: Ledger.from_state(part.spec, mid, part.name, NullLog()))
    assert decoded.known == part.known and decoded.met == set(part.scan[:half]), "round trip"
    return {
        "rest": rest,
        "mid": mid,
        "first": first,
        "more": more,
        "checkpoint": checkpoint_s,
        "first checkpoint": first_checkpoint_s,
        "complete": complete_s,
        "decode": decode_s,
    }


def memory(users: list[int]) -> tuple[int, int]:
    """Bytes a users ledger of `users` holds after a first scan met them all and completed, and its peak while
    being built (tracemalloc, the ids themselves allocated before)."""
    gc.collect()
    tracemalloc.start()
    ledger = Ledger(users_stream.LEDGER)
    for user in users:
        ledger.refresh(user)
    ledger.complete()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ledger.last_scan_count() == len(users)
    return held, peak


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
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


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
    print(
        "| ledger | scopes | children | at rest | mid-scan | first scan, half way | checkpoint | checkpoint,"
        " first scan | to_state after complete | from_state, mid-scan |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results: dict[str, dict[str, Any]] = {}
    for part in parts:
        r = results[part.name] = measure(part)
        more = "" if r["more"] == CHECKPOINT_SCOPES else f" ({r['more']:,} more)"
        print(
            f"| {part.name} | {len(part.known):,} | {part.children():,} | {mb(json_bytes(r['rest']))}"
            f" | {mb(json_bytes(r['mid']))} | {mb(json_bytes(r['first']))} | {ms(r['checkpoint'])}{more}"
            f" | {ms(r['first checkpoint'])}{more} | {ms(r['complete'])} | {ms(r['decode'])} |"
        )
    for label, names in (("users + groups", ("users", "groups")), ("all three", tuple(results))):
        sizes_mb = " | ".join(
            f"**{mb(json_bytes({name: results[name][moment] for name in names}))}**"
            for moment in ("rest", "mid", "first")
        )
        times = " | ".join(
            ms(sum(results[n][what] for n in names))
            for what in ("checkpoint", "first checkpoint", "complete", "decode")
        )
        print(f"| **{label}** | | | {sizes_mb} | {times} |")
    chunks = ", ".join(
        f"{name} {len(r['first']['added'])} added + {len(r['first']['children'])} children"
        for name, r in results.items()
    )
    print(f"\nChunks half way through a first scan: {chunks}.")

    sparse_ledger = Ledger(users_stream.LEDGER)
    for user in sparse:
        sparse_ledger.refresh(user)
    sparse_ledger.complete()
    print(
        f"Users with sparse ids (gaps of ~30,000 instead of ~1,300): {mb(json_bytes(sparse_ledger.to_state()))}"
        " at rest."
    )
    held, peak = memory(user_ids(random.Random(SEED), count=MEMORY_USERS))
    print(
        f"A users ledger of {MEMORY_USERS:,} users holds {held / MB:.1f} MB ({held / MEMORY_USERS:.1f} bytes a"
        f" user), {peak / MB:.1f} MB at its peak while built ({peak / MEMORY_USERS:.1f} bytes a user).\n"
    )

    print("Alternatives (JSON bytes of the ledgers' parts at rest, in MB):\n")
    print("| set | plain JSON | varints, base64 | zlib, base64 | zlib, base85 | lzma, base64 | bz2, base64 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    flat_bookmarks = [b for bs in owned.values() for b in bs]
    by_owner = {str(k): sorted(v) for k, v in owned.items()}
    owned_sets = {k: frozenset(v) for k, v in owned.items()}
    cases: list[tuple[str, Any, str]] = [
        ("users (scopes)", users, keysets.encode_int_set(users)),
        ("users, sparse ids", sparse, keysets.encode_int_set(sparse)),
        ("groups (scopes)", groups, keysets.encode_str_set(groups)),
        ("memberships, raw", members, keysets.encode_mapping(members, "raw")),
        ("memberships, indexed", members, keysets.encode_mapping(members, "indexed")),
        ("bookmarks per owner, raw", by_owner, keysets.encode_mapping(owned_sets, "raw")),
        ("bookmarks per owner, indexed", by_owner, keysets.encode_mapping(owned_sets, "indexed")),
        ("bookmarks, one flat set", flat_bookmarks, keysets.encode_int_set(flat_bookmarks)),
    ]
    for name, plain, text in cases:
        cells = " | ".join(f"{size / MB:.3f}" for size in alternatives(text).values())
        print(f"| {name} | {json_bytes(plain) / MB:.3f} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
