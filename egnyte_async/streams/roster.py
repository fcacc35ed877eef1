"""What a users scan tells the streams that fan out per user or per group, so that they spend no call on it.

The users scan runs first in every sync (it is cheap: one call per 100 users). The bookmarks stream then needs,
for each user, whom to act as and whether they can have changed their bookmarks; and when Egnyte's users listing
carries each user's groups (`groups: [{displayName, value}]`, as Egnyte's Go SDK reads a user), the groups stream
takes every group's members from it instead of one detail call per group. Only what those need is kept, per user,
and only when a stream needs it. A roster is `complete` when a scan read every page in this sync, from the first:
a scan resumed from an earlier sync read only some users, so nothing may be judged missing from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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


@dataclass
class Roster:
    """The users of this sync's users scan, as the fan-outs need them (see the module's docstring)."""

    #: Whether to keep the users (the bookmarks stream is enabled), and their groups (the groups stream is).
    keep_users: bool = False
    keep_groups: bool = False
    #: By id: a scan may meet a user twice (pages shift while it runs), and a user counts once.
    by_id: dict[int | str, RosterUser] = field(default_factory=dict)
    #: Each group's members as the users carry them (group id → user ids), when they do.
    members: dict[str, list[int]] = field(default_factory=dict)
    #: (username, display name) of each user who belongs to a group, for the `group_members` rows.
    member_names: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    carries_groups: bool = False
    complete: bool = False
    _began: bool = False

    def begin(self) -> None:
        """A scan starts from its first page in this sync."""
        self.by_id, self.members, self.member_names = {}, {}, {}
        self.carries_groups = self.complete = False
        self._began = True

    def add(self, users: list[Any]) -> None:
        for user in users:
            if not isinstance(user, dict):
                continue
            owner = owner_scope(user)
            if self.keep_users:
                entry = _roster_user(user, owner)
                self.by_id[owner if owner is not None else entry.shown_id] = entry
            groups = user.get("groups")
            if self.keep_groups and isinstance(groups, list):
                self.carries_groups = True
                if owner is not None:
                    self._add_memberships(user, owner, groups)

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

    @property
    def users(self) -> list[RosterUser]:
        return list(self.by_id.values())

    def finish(self) -> None:
        """The scan read its last page: complete if it began in this sync."""
        self.complete = self._began

    def member_records(self, group_id: str) -> list[dict[str, Any]]:
        """The group's members as a group's detail call would list them (`{username, value, display}`)."""
        members = []
        for user_id in sorted(set(self.members.get(group_id, ()))):
            name, display = self.member_names.get(user_id, (None, None))
            members.append({"username": name, "value": user_id, "display": display})
        return members


def _roster_user(user: dict[str, Any], owner: int | None) -> RosterUser:
    name = username(user)
    return RosterUser(
        str(user.get("id"))[:100],
        owner,
        name,
        act_as(user, name) if name is not None else None,
        deactivated(user),
        last_active(user),
        "lastActiveDate" in user,
        "lastActiveDate" in user and user["lastActiveDate"] is None,
    )


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
