"""What a users scan tells the streams that fan out per user or per group, so that they spend no call on it.

The users scan runs first in every sync (it is cheap: one call per 100 users). The bookmarks stream then needs,
for each user, whom to act as and whether they can have changed their bookmarks; and when Egnyte's users listing
carries each user's groups (`groups: [{displayName, value}]`, as Egnyte's Go SDK reads a user), the groups stream
takes every group's members from it instead of one detail call per group. Only what those need is kept, per user,
and only when a stream needs it. A roster is `complete` when a scan read every page in this sync, from the first:
a scan resumed from an earlier sync read only some users, so nothing may be judged missing from it.
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from egnyte_async.dates import parse_egnyte_datetime
from egnyte_async.mapping import RecordError, map_group

_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DAY = timedelta(days=1)


class RosterUser(NamedTuple):
    """One user as the fan-outs need them."""

    #: The id as the listing gave it, for messages.
    shown_id: str
    #: The users table's key (a whole number), None when the id cannot be one.
    owner: int | None
    username: str | None
    #: Whom to act as: the username, or the e-mail address when the username is not ASCII; None when neither can be
    #: sent in a header.
    act_as: str | None
    deactivated: bool
    last_active: datetime | None
    #: Whether the listing has a `lastActiveDate` key at all (a listing without it cannot tell activity).
    dated: bool
    #: `lastActiveDate` is null: the user never signed in (Egnyte's reading of a user who never did), so nothing of
    #: theirs changed since they were last listed; an unreadable value is not this.
    never_active: bool = False


_DEACTIVATED, _DATED, _NEVER_ACTIVE, _REPEATED = 1, 2, 4, 8
_NO_OWNER = -1


@dataclass
class Roster:
    """The users of this sync's users scan, as the fan-outs need them (see the module's docstring).

    Kept compact, since a large tenant lists a million users: per user an id and an instant in arrays, a byte of
    flags and the username's bytes in one buffer, about 40 bytes a user; `user(position)` builds a `RosterUser` when
    it is needed. The rare user whose id is no whole number, or who is acted as by e-mail, is kept aside."""

    #: Whether to keep the users (the bookmarks stream is enabled), and their groups (the groups stream is).
    keep_users: bool = False
    keep_groups: bool = False
    #: Each group's members as the users carry them (group id → user ids), when they do.
    members: dict[str, list[int]] = field(default_factory=dict)
    #: (username, display name) of each user who belongs to a group, for the `group_members` rows.
    member_names: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    carries_groups: bool = False
    complete: bool = False
    _began: bool = False
    _owners: array[int] = field(default_factory=lambda: array("q"))
    _active: array[float] = field(default_factory=lambda: array("d"))
    _flags: bytearray = field(default_factory=bytearray)
    _names: bytearray = field(default_factory=bytearray)
    _name_ends: array[int] = field(default_factory=lambda: array("q"))
    #: Positions of users acted as by e-mail (or as nobody: None), and of users whose id is no whole number.
    _act_as: dict[int, str | None] = field(default_factory=dict)
    _shown: dict[int, str] = field(default_factory=dict)

    def begin(self) -> None:
        """A scan starts from its first page in this sync."""
        self.members, self.member_names = {}, {}
        self._owners, self._active, self._flags = array("q"), array("d"), bytearray()
        self._names, self._name_ends, self._act_as, self._shown = bytearray(), array("q"), {}, {}
        self.carries_groups = self.complete = False
        self._began = True

    def add(self, users: list[Any]) -> None:
        for user in users:
            if not isinstance(user, dict):
                continue
            owner = owner_scope(user)
            if self.keep_users:
                self._keep(user, owner)
            groups = user.get("groups")
            if self.keep_groups and isinstance(groups, list):
                self.carries_groups = True
                if owner is not None:
                    self._add_memberships(user, owner, groups)

    def _keep(self, user: dict[str, Any], owner: int | None) -> None:
        position = len(self._owners)
        self._owners.append(_NO_OWNER if owner is None else owner)
        if owner is None:
            self._shown[position] = str(user.get("id"))[:100]
        moment = last_active(user)
        self._active.append(math.nan if moment is None else moment.timestamp())
        flags = _DEACTIVATED if deactivated(user) else 0
        if "lastActiveDate" in user:
            flags |= _DATED | (_NEVER_ACTIVE if user["lastActiveDate"] is None else 0)
        self._flags.append(flags)
        name = username(user)
        self._names += name.encode("utf-8", "surrogatepass") if name is not None else b"\0"
        self._name_ends.append(len(self._names))
        if name is None:
            self._act_as[position] = None
        else:
            whom = act_as(user, name)
            if whom != name:
                self._act_as[position] = whom

    def _add_memberships(self, user: dict[str, Any], owner: int, groups: list[Any]) -> None:
        joined = False
        for group in groups:
            group_id = _group_id(group)
            if group_id is not None:
                self.members.setdefault(group_id, []).append(owner)
                joined = True
        if joined:
            name = user.get("name")
            formatted = name.get("formatted") if isinstance(name, dict) else None
            self.member_names[owner] = (username(user), formatted if isinstance(formatted, str) else None)

    def finish(self) -> None:
        """The scan read its last page: complete if it began in this sync. A user met twice (pages shift while a
        scan runs) counts once, as last met."""
        self.complete = self._began
        owners, flags = self._owners, self._flags
        repeated = {a for a, b in itertools.pairwise(sorted(owners)) if a == b != _NO_OWNER}  # rare: usually empty
        if repeated:
            last = {owner: position for position, owner in enumerate(owners) if owner in repeated}
            for position, owner in enumerate(owners):
                if owner in repeated and last[owner] != position:
                    flags[position] |= _REPEATED

    def positions(self) -> Iterator[int]:
        """The users' positions, each user once."""
        return (position for position, flags in enumerate(self._flags) if not flags & _REPEATED)

    def owners(self) -> Iterator[int]:
        """The users' ids (whole numbers), each user once."""
        return (
            owner
            for position, owner in enumerate(self._owners)
            if owner != _NO_OWNER and not self._flags[position] & _REPEATED
        )

    def user(self, position: int) -> RosterUser:
        owner = self._owners[position]
        start = self._name_ends[position - 1] if position else 0
        raw = bytes(self._names[start : self._name_ends[position]])
        name = None if raw == b"\0" else raw.decode("utf-8", "surrogatepass")
        flags, active = self._flags[position], self._active[position]
        return RosterUser(
            self._shown.get(position, str(owner)),
            None if owner == _NO_OWNER else owner,
            name,
            self._act_as.get(position, name),
            bool(flags & _DEACTIVATED),
            None if math.isnan(active) else datetime.fromtimestamp(active, timezone.utc),
            bool(flags & _DATED),
            bool(flags & _NEVER_ACTIVE),
        )

    @property
    def users(self) -> list[RosterUser]:
        """Every user, once (for tests and small tenants: the fan-outs take them one position at a time)."""
        return [self.user(position) for position in self.positions()]

    def member_records(self, group_id: str) -> list[dict[str, Any]]:
        """The group's members as a group's detail call would list them (`{username, value, display}`)."""
        members = []
        for user_id in sorted(set(self.members.get(group_id, ()))):
            name, display = self.member_names.get(user_id, (None, None))
            members.append({"username": name, "value": user_id, "display": display})
        return members


def _group_id(group: Any) -> str | None:
    """The group id a user's `groups` entry names (`value`), as the groups table keys it."""
    if not isinstance(group, dict):
        return None
    try:
        return str(map_group({"id": group.get("value")})["id"])
    except RecordError:
        return None


def username(user: dict[str, Any]) -> str | None:
    name = user.get("userName") or user.get("username")
    return name if isinstance(name, str) and name else None


def deactivated(user: dict[str, Any]) -> bool:
    """Whether the users listing says the user is deactivated (`active` false, as a boolean, text or number)."""
    active = user.get("active")
    if isinstance(active, str):
        return active.strip().lower() == "false"
    return active is False or (type(active) is int and active == 0)


def act_as(user: dict[str, Any], name: str) -> str | None:
    """Whom to act as: the username, or when it is not ASCII (a header value must be) the user's e-mail address,
    which the client sends as `X-Egnyte-Act-As-Email` (python-egnyte's form); None when neither can be sent."""
    if name.isascii() and name.isprintable():
        return name
    email = user.get("email")
    if isinstance(email, str) and email.isascii() and email.isprintable() and "@" in email:
        return email
    return None


def last_active(user: dict[str, Any]) -> datetime | None:
    """When the user was last active by the users listing, or None when it does not say (absent, null, unreadable).
    A plain date may mean any moment of its day: it counts as the day's end."""
    value = user.get("lastActiveDate")
    try:
        moment = parse_egnyte_datetime(value)
    except ValueError:
        return None
    if moment is not None and type(value) is str and _PLAIN_DATE.fullmatch(value.strip()):
        moment += DAY
    return moment


def owner_scope(user: dict[str, Any]) -> int | None:
    """The user's id as the users table keys it (a whole number), so that a ledger follows the user across renames;
    None for an id the users table cannot hold either."""
    value = user.get("id")
    if type(value) is str and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    return value if type(value) is int and 0 <= value < 2**63 else None
