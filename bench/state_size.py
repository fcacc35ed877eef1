"""How large the state grows with the key sets that find deleted records: `python -m bench.state_size`.

Method. Synthetic sets with the shapes of a large tenant, drawn from a fixed seed (the same numbers every run):

* 100,000 user ids as the sandbox makes them (`egnyte_sandbox.users`): USER_ID_BASE + (i + 1) × 1,024 + a jitter
  in [0, 512), eleven digits increasing with creation like Egnyte's. A second, sparser shape (ids drawn uniformly
  over three billion values, as if the tenant's users were scattered among other tenants' in one global
  sequence) shows how the size depends on the gaps.
* 5,000 group ids, random UUIDs in lowercase canonical text.
* 250,000 memberships: group sizes drawn from a lognormal distribution (σ = 1.5: a few groups of thousands,
  most of a handful), scaled to 250,000 in all (an average of 50), each at least 1 and at most the users; the
  members of a group drawn uniformly among the users.
* 200,000 bookmark ids: a global increasing sequence (gaps of 1 to 40) shared out among 40% of the users, the
  number per user skewed like the group sizes; kept as the connector would, per owner: user id → bookmark ids.

Each set is encoded as the connector keeps it: a `KeyTracker` per stream (users: `INT_KEYS`, groups: `STR_KEYS`,
memberships: `STR_INT_PAIRS` grouped by group, bookmarks: `INT_INT_PAIRS` grouped by user), and its `to_state()`
serialised with `json.dumps` the way the SDK writes the state; "bytes" are the bytes of that JSON. Two moments:
*at rest* (a scan done: every key in `previous`, `seen` empty) and *mid-scan* (half the keys moved to `seen`: two
texts, each of half the keys). The whole is the JSON of one dict holding the four parts. Times are the best of
three runs on this machine of encoding a part (`to_state` with its cache cleared) and of decoding it
(`from_state`). The second table compares the layouts and text forms that were measured before choosing:
a plain JSON list, the varints without compression, zlib then base64 (chosen), base85, lzma and bz2 in place of
zlib, and for mappings the "raw" and "indexed" layouts (see `egnyte_async.keysets`).
"""

from __future__ import annotations

import base64
import bz2
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
from egnyte_async.keysets import INT_INT_PAIRS, INT_KEYS, STR_INT_PAIRS, STR_KEYS, Codec, KeyTracker
from egnyte_sandbox.users import USER_ID_BASE, USER_ID_STRIDE

SEED = 20261129
USERS = 100_000
GROUPS = 5_000
MEMBERSHIPS = 250_000
BOOKMARKS = 200_000
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


def best_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def tracker_at(codec: Codec[Any], keys: list[Any], moved: float) -> KeyTracker[Any]:
    """A tracker whose previous scan saw `keys`, with the share `moved` of them seen again by the current one."""
    tracker = KeyTracker(codec, previous=keys)
    tracker.see(keys[: int(len(keys) * moved)])
    return tracker


def measure(codec: Codec[Any], keys: list[Any], moved: float) -> tuple[dict[str, str], int, float, float]:
    tracker = tracker_at(codec, keys, moved)

    def encode() -> dict[str, str]:
        tracker._union_changed()
        return tracker.to_state()

    encode_s, part = best_of(3, encode)
    decode_s, _ = best_of(3, lambda: KeyTracker.from_state(codec, part))
    return part, json_bytes(part), encode_s, decode_s


def checkpoint(codec: Codec[Any], keys: list[Any]) -> float:
    """The time of a checkpoint mid-scan after 10,000 more keys known to the previous scan: positions only."""
    tracker = tracker_at(codec, keys, 0.5)
    tracker.to_state()
    batch = keys[len(keys) // 2 : len(keys) // 2 + 10_000]
    start = time.perf_counter()
    tracker.see(batch)
    tracker.to_state()
    return time.perf_counter() - start


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


def main() -> int:
    rng = random.Random(SEED)
    users = user_ids(rng)
    sparse = user_ids(rng, sparse=True)
    groups = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(GROUPS)]
    members = memberships(rng, users, groups)
    owned = bookmarks(rng, users)
    # The order a scan meets the keys in: users and their bookmarks in id order (SCIM lists users by id), groups
    # in an order unrelated to their ids (the listing's), each group's members together.
    member_pairs = [(g, u) for g, us in members.items() for u in us]
    bookmark_pairs = [(u, b) for u in sorted(owned) for b in owned[u]]
    sizes = sorted(map(len, members.values()))
    per_owner = sorted(map(len, owned.values()))
    summary = (
        f"{USERS:,} users, {GROUPS:,} groups, {len(member_pairs):,} memberships (group sizes: median"
        f" {sizes[len(sizes) // 2]}, largest {sizes[-1]:,}, {sum(s <= 10 for s in sizes):,} groups of ≤ 10),"
        f" {len(bookmark_pairs):,} bookmarks of {len(owned):,} users (median {per_owner[len(per_owner) // 2]},"
        f" largest {per_owner[-1]:,})"
    )
    print(summary + "\n")
    parts = {
        "users": (INT_KEYS, users),
        "groups": (STR_KEYS, groups),
        "memberships": (STR_INT_PAIRS, member_pairs),
        "bookmarks": (INT_INT_PAIRS, bookmark_pairs),
    }
    print("| part | keys | at rest | mid-scan | mid-scan, two sets | encode | checkpoint | decode |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    wholes: dict[str, dict[str, Any]] = {"rest": {}, "mid": {}}
    for name, (codec, keys) in parts.items():
        rest, rest_bytes, encode_s, decode_s = measure(codec, keys, 0.0)
        mid, mid_bytes, _, _ = measure(codec, keys, 0.5)
        wholes["rest"][name], wholes["mid"][name] = rest, mid
        half = len(keys) // 2
        two_sets = json_bytes({"previous": codec.encode(set(keys[half:])), "seen": codec.encode(set(keys[:half]))})
        checkpoint_s = checkpoint(codec, keys)
        print(
            f"| {name} | {len(keys):,} | {rest_bytes / MB:.3f} MB | {mid_bytes / MB:.3f} MB | {two_sets / MB:.3f} MB"
            f" | {encode_s * 1000:.0f} ms | {checkpoint_s * 1000:.0f} ms | {decode_s * 1000:.0f} ms |"
        )
    core = ("users", "groups", "memberships")
    for label, names in (("users + groups + memberships", core), ("all four", tuple(parts))):
        rest_bytes = json_bytes({n: wholes["rest"][n] for n in names})
        mid_bytes = json_bytes({n: wholes["mid"][n] for n in names})
        print(f"| **{label}** | | **{rest_bytes / MB:.3f} MB** | **{mid_bytes / MB:.3f} MB** | | | | |")
    sparse_bytes = measure(INT_KEYS, sparse, 0.0)[1]
    print(f"\nUsers with sparse ids (gaps of ~30,000 instead of ~1,300): {sparse_bytes / MB:.3f} MB at rest.\n")

    print("Alternatives (JSON bytes of one set at rest, in MB):\n")
    print("| set | JSON list | varints, base64 | zlib, base64 | zlib, base85 | lzma, base64 | bz2, base64 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    flat_bookmarks = [b for bs in owned.values() for b in bs]
    cases: list[tuple[str, Any, str]] = [
        ("users", users, keysets.encode_int_set(users)),
        ("users, sparse ids", sparse, keysets.encode_int_set(sparse)),
        ("groups", groups, keysets.encode_str_set(groups)),
        ("memberships, raw", members, keysets.encode_mapping(members, "raw")),
        ("memberships, indexed", members, keysets.encode_mapping(members, "indexed")),
        ("bookmarks per user, raw", owned, keysets.encode_mapping(owned, "raw")),
        ("bookmarks per user, indexed", owned, keysets.encode_mapping(owned, "indexed")),
        ("bookmarks, one flat set", flat_bookmarks, keysets.encode_int_set(flat_bookmarks)),
    ]
    for name, plain, text in cases:
        plain_json = {str(k): v for k, v in plain.items()} if isinstance(plain, dict) else plain
        cells = " | ".join(f"{size / MB:.3f}" for size in alternatives(text).values())
        print(f"| {name} | {json_bytes(plain_json) / MB:.3f} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
