"""Groups: uuid ids whose leading digits carry the listing order, and members drawn from the users."""

from __future__ import annotations

import math
from typing import Any

from .config import SandboxConfig
from .mixing import GOLDEN, MASK64, mix64, salt, spin, uuid_text
from .ordering import Entry, OrderedIndex
from .pools import DEPARTMENTS, Pools
from .spread import hashed_count, spread
from .users import Identity, UserStore

_ID_HEX = 12
_ID_BITS = 4 * _ID_HEX
_SUFFIXES = ("", " Team", " Leads", " – Contractors", " (Read Only)", " Archive")


class GroupStore:
    """The tenant's custom groups in id order. Default groups ("All Power Users"...) are not listed, as on Egnyte."""

    def __init__(self, config: SandboxConfig, pools: Pools, users: UserStore) -> None:
        self.config = config
        self.pools = pools
        self.users = users
        self.size = config.groups
        self._salt = salt(config.seed, "groups")
        self._member_salt = salt(config.seed, "members")
        # Spread the ids over the whole 48-bit prefix (real uuids do not start with zeros), leaving gaps to insert.
        self._shift = _ID_BITS - (self.size + 64).bit_length()
        self.index = OrderedIndex(self.size, self.ordinal, floor=0, ceiling=(self.size + 64) << self._shift)
        self._places = ("", *(f" {city}" for city in pools.cities))
        combos = len(DEPARTMENTS) * len(self._places) * len(_SUFFIXES)
        self._offset = mix64(self._salt) % combos
        self._multiplier = 1 + mix64(self._salt ^ 1) % (combos - 1)
        while math.gcd(self._multiplier, combos) != 1:
            self._multiplier += 1
        #: (group ordinal, user id) pairs taken out of a group one by one (a user removed from the tenant drops out
        #: of every group by itself).
        self._removed_members: set[tuple[int, int]] = set()

    def remove_member(self, entry: Entry, user_id: int) -> None:
        """Takes one user out of one group; KeyError if the user is not a member."""
        if all(ident.ordinal != user_id for ident in self.member_identities(entry)):
            raise KeyError(user_id)
        self._removed_members.add((entry[0], user_id))

    def restore_member(self, entry: Entry, user_id: int) -> None:
        """Puts back a member taken out by `remove_member`."""
        self._removed_members.discard((entry[0], user_id))

    def ordinal(self, i: int) -> int:
        """The 48-bit number written as the first twelve hex digits of group i's id."""
        jitter = (((i ^ self._salt) * GOLDEN) & MASK64) >> (65 - self._shift)
        return ((i + 1) << self._shift) | jitter

    def group_id(self, ordinal: int) -> str:
        h = mix64(ordinal ^ self._salt)
        return uuid_text((ordinal << 16) | (h & 0xFFFF), spin(h))

    def _name(self, ordinal: int) -> str:
        """Unique for generated groups (Egnyte refuses duplicate names): a shuffled mixed-radix reading of the index.

        Added groups get a hashed name with a short tag, which keeps collisions out in practice.
        """
        places = self._places
        combos = len(DEPARTMENTS) * len(places) * len(_SUFFIXES)
        slot = (ordinal >> self._shift) - 1
        if 0 <= slot < self.size and self.ordinal(slot) == ordinal:
            rounds, rest = divmod(slot, combos)
            code = (rest * self._multiplier + self._offset) % combos
            tag = f" {rounds + 1}" if rounds else ""
        else:
            code = mix64(ordinal ^ self._salt) % combos
            tag = f" {ordinal & 0xFFFF:04X}"
        department, rest = DEPARTMENTS[code % len(DEPARTMENTS)], code // len(DEPARTMENTS)
        place, suffix = places[rest % len(places)], _SUFFIXES[rest // len(places)]
        return f"{department}{place}{suffix}{tag}"

    def item(self, ordinal: int) -> dict[str, Any]:
        """A group as the list endpoint serves it: id and name only."""
        h = mix64(ordinal ^ self._salt)
        return {"id": uuid_text((ordinal << 16) | (h & 0xFFFF), spin(h)), "displayName": self._name(ordinal)}

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        item = self.item
        return [item(ordinal) for ordinal, _ in self.index.slice(start, start + count)]

    def find(self, group_id: str) -> Entry | None:
        """The current group with this id (its first twelve hex digits give the ordinal directly)."""
        digits = group_id.replace("-", "").lower()
        if len(digits) != 32:
            return None
        try:
            ordinal = int(digits[:_ID_HEX], 16)
        except ValueError:
            return None
        entry = self.index.contains(ordinal)
        return entry if entry and self.group_id(ordinal) == group_id.lower() else None

    def member_count(self, entry: Entry) -> int:
        ordinal, base = entry
        mean = self.config.members_per_group
        if base is not None:
            return spread(mean, base, self._member_salt)
        return hashed_count(mean, mix64(ordinal ^ self._member_salt))

    def member_identities(self, entry: Entry) -> list[Identity]:
        """The members as the tenant holds them, ordered by user id (`ordinal` is the numeric user id).

        Members are base users picked with a hashed start and a stride coprime with the user count, so they are
        distinct without any bookkeeping; users removed since start-up drop out of every group.
        """
        users = self.users
        population = users.size
        wanted = min(self.member_count(entry), population)
        if wanted == 0:
            return []
        h = mix64(entry[0] ^ self._member_salt ^ 0xA5A5)
        start = h % population
        step = 1 + (h >> 32) % max(1, population - 1)
        while math.gcd(step, population) != 1:
            step += 1
        out = []
        for j in range(wanted):
            base = (start + j * step) % population
            if users.index.is_removed(base):
                continue
            ordinal = users.ordinal(base)
            if (entry[0], ordinal) in self._removed_members:
                continue
            out.append(users.identity(ordinal))
        out.sort(key=lambda ident: ident.ordinal)
        return out

    def members(self, entry: Entry) -> list[dict[str, Any]]:
        """Members as the detail call serves them, `{"username", "value", "display"}`, ordered by user id."""
        string_ids = self.config.user_id_type == "string"
        return [
            {
                "username": ident.username,
                "value": str(ident.ordinal) if string_ids else ident.ordinal,
                "display": ident.formatted,
            }
            for ident in self.member_identities(entry)
        ]

    def detail(self, entry: Entry) -> dict[str, Any]:
        """A group as `GET /pubapi/v2/groups/{id}` serves it."""
        body: dict[str, Any] = {}
        if self.config.scim_schemas:
            body["schemas"] = ["urn:scim:schemas:core:1.0"]
        body.update(self.item(entry[0]))
        body["members"] = self.members(entry)
        return body
