"""The tenant: users, groups, notes and bookmarks, deterministic from the seed, generated on demand.

Nothing proportional to the tenant's size is built at start-up; every page is computed from its position.
Mutations (by tests, or by churn while a sync runs) are recorded as small sorted edit lists, so pages shift
exactly as they would on a live tenant while everything else stays generated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from .bookmarks import BookmarkStore
from .config import SandboxConfig
from .dates import MS_PER_DAY, DateRenderer, to_ms
from .events import EventLog
from .groups import GroupStore
from .mixing import salt
from .notes import NoteStore
from .ordering import Entry
from .pools import build_pools
from .users import HISTORY_DAYS, Identity, UserStore

RESOURCES = ("users", "groups", "notes", "bookmarks")


class Tenant:
    """One Egnyte domain's data, as the API serves it (current state, after any mutations)."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        cfg = self.config
        self.anchor_ms = to_ms(cfg.wall_clock())
        anchor_day = self.anchor_ms // MS_PER_DAY
        first_day = anchor_day - HISTORY_DAYS - 366
        self.render = DateRenderer(cfg.date_format, first_day, anchor_day + 2 * 366 - first_day)
        self.pools = build_pools(cfg.seed)
        self.users = UserStore(cfg, self.pools, self.anchor_ms, self.render)
        self.groups = GroupStore(cfg, self.pools, self.users)
        self.notes = NoteStore(cfg, self.pools, self.users, self.anchor_ms, self.render)
        self.bookmarks = BookmarkStore(cfg, self.pools, self.users, self.anchor_ms, self.render)
        self.rng = random.Random(salt(cfg.seed, "mutations"))
        self.events = EventLog(cfg)
        #: Note ids met by an event, to their ordinals: `note_by_id` finds them without a scan.
        self._note_ordinals: dict[str, int] = {}

    # --- counts -----------------------------------------------------------------------------------------
    @property
    def user_count(self) -> int:
        return len(self.users.index)

    @property
    def group_count(self) -> int:
        return len(self.groups.index)

    @property
    def note_count(self) -> int:
        return len(self.notes.index)

    @property
    def bookmark_count(self) -> int:
        return self.bookmarks.total

    # --- users --------------------------------------------------------------------------------------------
    def iter_users(self) -> Iterator[dict[str, Any]]:
        """Every current user, in listing order. Do not mutate the tenant while iterating."""
        record = self.users.record
        for ordinal, _ in self.users.index:
            yield record(ordinal)

    def canonical_users(self) -> Iterator[dict[str, Any]]:
        """Every current user as the tenant holds it, before the API renders it, in listing order: ids are numbers
        and dates epoch milliseconds whatever the switches say (see UserStore.canonical)."""
        canonical = self.users.canonical
        for ordinal, _ in self.users.index:
            yield canonical(ordinal)

    def users_page(self, start: int, count: int) -> list[dict[str, Any]]:
        """Users at 0-based positions [start, start + count), with their groups when `users_carry_groups`."""
        page = self.users.page(start, count)
        if self.config.users_carry_groups:
            groups_of = self.groups_of_users()
            for user in page:
                user["groups"] = groups_of.get(int(user["id"]), [])
        return page

    def groups_of_users(self) -> dict[int, list[dict[str, Any]]]:
        """Each member's groups as a user carries them, `{"displayName", "value"}` (value: the group's id), in the
        groups' listing order. Walks every group: for tenants of test sizes."""
        out: dict[int, list[dict[str, Any]]] = {}
        for group in self.iter_groups():
            for member in self.group_members(group["id"]):
                out.setdefault(member.ordinal, []).append({"displayName": group["displayName"], "value": group["id"]})
        return out

    def user_entry(self, username: str) -> Entry | None:
        return self.users.find(username)

    def find_user(self, username: str) -> dict[str, Any] | None:
        entry = self.users.find(username)
        return self.users.record(entry[0]) if entry else None

    def is_admin(self, username: str) -> bool:
        entry = self.users.find(username)
        return bool(entry) and self.users.identity(entry[0]).is_admin

    def userinfo(self, username: str) -> dict[str, Any] | None:
        """`GET /pubapi/v1/userinfo` for this user."""
        entry = self.users.find(username)
        if entry is None:
            return None
        user = self.users.record(entry[0])
        info = {
            "id": user["id"],
            "username": user["userName"],
            "first_name": user["name"]["givenName"],
            "last_name": user["name"].get("familyName", ""),
        }
        if self.config.userinfo_email:
            info["email"] = user["email"]
        if self.config.userinfo_user_type:
            info["user_type"] = user["userType"]
        return info

    def touch_user(self, username: str, at_ms: int | None = None) -> None:
        """The user was active at `at_ms` (now, by the sandbox's wall clock, when None): the users listing's
        `lastActiveDate` says so from now on. Editing a user's bookmarks touches them too; KeyError for an unknown
        user. A tenant without user dates (`optional_user_dates=False`) keeps serving none."""
        self.users.touch(self._owner(username)[0], self._now_ms() if at_ms is None else at_ms)

    def rename_user(self, username: str, given: str, family: str | None = None) -> dict[str, Any]:
        """The user's display name becomes `given family` (the username stays), modified now by the sandbox's wall
        clock; returns the user as listed. KeyError for an unknown user."""
        ordinal = self._owner(username)[0]
        self.users.rename(ordinal, given, family, self._now_ms())
        return self.users.record(ordinal)

    def canonical_note(self, note_id: str) -> dict[str, Any] | None:
        """The current note with this id as `canonical_notes` holds it, when an event met it (`add_note`)."""
        ordinal = self._note_ordinals.get(note_id)
        if ordinal is None or not self.notes.index.contains(ordinal):
            return None
        return self.notes.canonical(ordinal)

    def _now_ms(self) -> int:
        return to_ms(self.config.wall_clock())

    def first_standard_user(self) -> str | None:
        """The username of the first active standard (neither admin nor power) user, in listing order."""
        for user in self.iter_users():
            if user["userType"] == "standard" and user["active"] is True:
                return str(user["userName"])
        return None

    def add_user(self, position: int | None = None) -> dict[str, Any] | None:
        """Add a user landing at `position` (random when None); None if no id fits there."""
        index = self.users.index
        ordinal = index.insert_at(self._position(position, len(index) + 1), self.rng)
        if ordinal is None:
            return None
        self.bookmarks.owner_added((ordinal, None))
        return self.users.record(ordinal)

    def remove_user(self, position: int) -> dict[str, Any]:
        """Remove the user at `position`; the admin behind the static token cannot be removed."""
        entry = self.users.index.at(position)
        if entry[0] == self.users.admin_ordinal:
            raise ValueError("the admin user cannot be removed")
        record = self.users.record(entry[0])
        self.bookmarks.owner_removed(entry)
        self.users.forget(entry[0])
        self.users.index.remove_at(position)
        return record

    # --- groups -------------------------------------------------------------------------------------------
    def iter_groups(self) -> Iterator[dict[str, Any]]:
        """Every current group as a list item `{"id", "displayName"}`, in listing order."""
        item = self.groups.item
        for ordinal, _ in self.groups.index:
            yield item(ordinal)

    def groups_page(self, start: int, count: int) -> list[dict[str, Any]]:
        return self.groups.page(start, count)

    def group_detail(self, group_id: str) -> dict[str, Any]:
        """The group with its members; KeyError if no such group."""
        entry = self.groups.find(group_id)
        if entry is None:
            raise KeyError(group_id)
        return self.groups.detail(entry)

    def group_members(self, group_id: str) -> list[Identity]:
        """The group's members as the tenant holds them, ordered by user id; KeyError if no such group."""
        entry = self.groups.find(group_id)
        if entry is None:
            raise KeyError(group_id)
        return self.groups.member_identities(entry)

    def remove_member(self, group_id: str, user_id: int) -> None:
        """Takes the user out of the group (the user stays in the tenant); KeyError if either is unknown."""
        entry = self.groups.find(group_id)
        if entry is None:
            raise KeyError(group_id)
        self.groups.remove_member(entry, user_id)

    def restore_member(self, group_id: str, user_id: int) -> None:
        """Puts back a member taken out with `remove_member`."""
        entry = self.groups.find(group_id)
        if entry is None:
            raise KeyError(group_id)
        self.groups.restore_member(entry, user_id)

    def add_group(self, position: int | None = None) -> dict[str, Any] | None:
        index = self.groups.index
        ordinal = index.insert_at(self._position(position, len(index) + 1), self.rng)
        return None if ordinal is None else self.groups.item(ordinal)

    def remove_group(self, position: int) -> dict[str, Any]:
        ordinal, _ = self.groups.index.remove_at(position)
        return self.groups.item(ordinal)

    # --- notes --------------------------------------------------------------------------------------------
    def iter_notes(self) -> Iterator[dict[str, Any]]:
        """Every current note, in ascending creation order (whatever notes_order says)."""
        return self.notes.iter_records()

    def canonical_notes(self) -> Iterator[dict[str, Any]]:
        """Every current note as the tenant holds it, in ascending creation order: `creation_time` is in epoch
        milliseconds whatever `date_format` says."""
        canonical = self.notes.canonical
        for ordinal, _ in self.notes.index:
            yield canonical(ordinal)

    def add_note(self, position: int | None = None) -> dict[str, Any] | None:
        """Add a note landing at `position` (random when None), with its `create` event; None if none fits there."""
        index = self.notes.index
        ordinal = index.insert_at(self._position(position, len(index) + 1), self.rng)
        return None if ordinal is None else self._note_event("create", ordinal)

    def remove_note(self, position: int) -> dict[str, Any]:
        """Remove the note at `position`, with its `delete` event."""
        ordinal, _ = self.notes.index.remove_at(position)
        return self._note_event("delete", ordinal)

    def note_by_id(self, note_id: str) -> dict[str, Any] | None:
        """The current note with this id (`GET /pubapi/v1/notes/{id}`); None when there is none (or no longer).

        Notes met by an event are found at once; any other is looked for through the whole listing."""
        ordinal = self._note_ordinals.get(note_id)
        if ordinal is not None:
            return self.notes.record(ordinal) if self.notes.index.contains(ordinal) else None
        for ordinal, _ in self.notes.index:
            note = self.notes.record(ordinal)
            if note["id"] == note_id:
                return note
        return None

    # --- events -------------------------------------------------------------------------------------------
    def now_rendered(self) -> Any:
        return self.render.exact(to_ms(self.config.wall_clock()))

    def _note_event(self, action: str, ordinal: int) -> dict[str, Any]:
        """Logs a note's `create` or `delete` event (with the configured file_system events); returns the note."""
        note = self.notes.record(ordinal)
        self._note_ordinals[note["id"]] = ordinal
        field = self.config.note_event_id_field
        data: dict[str, Any] = {"note": {"id": note["id"]}} if field == "note.id" else {field: note["id"]}
        author = self.users.find(note["username"])
        self.events.append(
            "note", action, note["file_path"], data,
            actor=author[0] if author else None, timestamp=self.now_rendered(), action_source="WebUI",
        )  # fmt: skip
        for k in range(self.config.file_system_events_per_note):
            self.add_file_event(("create", "move", "delete")[k % 3], f"{note['file_path']}.v{k}")
        return note

    def add_file_event(self, action: str, path: str, target: str | None = None) -> dict[str, Any]:
        """Logs a `file_system` event: `create`, `delete` or `move` (to `target`) of `path`."""
        data: dict[str, Any] = {"target_path": target or f"{path}.moved"} if action == "move" else {}
        data["is_folder"] = False
        return self.events.append(
            "file_system", action, path, data, actor=self.users.admin_ordinal, timestamp=self.now_rendered()
        )

    # --- bookmarks ----------------------------------------------------------------------------------------
    def _owner(self, username: str) -> Entry:
        entry = self.users.find(username)
        if entry is None:
            raise KeyError(username)
        return entry

    def bookmarks_of(self, username: str) -> list[dict[str, Any]]:
        """All bookmarks of the user, in id order; KeyError for an unknown user."""
        owner = self._owner(username)
        return self.bookmarks.page(owner, username, 0, self.bookmarks.count_of(owner))

    def canonical_bookmarks_of(self, username: str) -> list[dict[str, Any]]:
        """`bookmarks_of` as the tenant holds them: `creation_date` is in epoch milliseconds whatever
        `date_format` says."""
        owner = self._owner(username)
        return self.bookmarks.page(owner, username, 0, self.bookmarks.count_of(owner), canonical=True)

    def bookmarks_page(self, username: str, offset: int, count: int) -> list[dict[str, Any]]:
        return self.bookmarks.page(self._owner(username), username, offset, count)

    def bookmark_count_of(self, username: str) -> int:
        return self.bookmarks.count_of(self._owner(username))

    def add_bookmark(self, username: str, position: int | None = None) -> dict[str, Any] | None:
        owner = self._owner(username)
        ordinal = self.bookmarks.add(owner, position, self.rng)
        self.users.touch(owner[0], self._now_ms())  # only a user can change their bookmarks: they were active
        return None if ordinal is None else self.bookmarks.record(ordinal, username)

    def remove_bookmark(self, username: str, position: int) -> dict[str, Any]:
        owner = self._owner(username)
        ordinal = self.bookmarks.remove(owner, position)
        self.users.touch(owner[0], self._now_ms())
        return self.bookmarks.record(ordinal, username)

    # --- churn --------------------------------------------------------------------------------------------
    def churn(self, resource: str, count: int, rng: random.Random, username: str | None = None) -> int:
        """Apply `count` random adds/removes to one resource, anywhere in its order; return how many applied.

        Adds and removes are equally likely, so sizes drift little; the admin is never removed.
        """
        applied = 0
        for _ in range(count):
            remove = rng.random() < 0.5
            if resource == "bookmarks":
                if username is None:
                    raise ValueError("bookmark churn needs a username")
                owner = self._owner(username)
                size = self.bookmarks.count_of(owner)
                if remove and size:
                    self.bookmarks.remove(owner, rng.randrange(size))
                    applied += 1
                elif self.bookmarks.add(owner, rng.randrange(size + 1), rng) is not None:
                    applied += 1
                self.users.touch(owner[0], self._now_ms())
                continue
            index = {"users": self.users.index, "groups": self.groups.index, "notes": self.notes.index}[resource]
            if remove and len(index) > 1:
                position = rng.randrange(len(index))
                if resource == "users" and index.at(position)[0] == self.users.admin_ordinal:
                    continue
                if resource == "users":
                    self.bookmarks.owner_removed(index.at(position))
                    self.users.forget(index.at(position)[0])
                removed, _ = index.remove_at(position)
                if resource == "notes":
                    self._note_event("delete", removed)
                applied += 1
            else:
                ordinal = index.insert_at(rng.randrange(len(index) + 1), rng)
                if ordinal is not None:
                    if resource == "users":
                        self.bookmarks.owner_added((ordinal, None))
                    elif resource == "notes":
                        self._note_event("create", ordinal)
                    applied += 1
        return applied

    def _position(self, position: int | None, bound: int) -> int:
        return self.rng.randrange(bound) if position is None else position
