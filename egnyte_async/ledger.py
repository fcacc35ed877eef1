"""What a stream has written, so that what Egnyte no longer holds can be marked deleted in the destination.

Egnyte offers no deletion feed for users, groups, memberships or bookmarks; the connector re-reads them, so it can
tell. Each such stream keeps a ledger of *scopes* and their *children*: the users; the groups and each group's
members; each user's bookmarks. The drain loop keeps it, as it writes:

- a scope read whole (a group's detail call, a user's bookmark listing, a user in the users listing) replaces
  that scope's children: a child no longer there (a removed member, a deleted bookmark) is deleted at once;
- a scope that exists but could not be read (a deactivated user, whose bookmarks Egnyte will not list) is kept
  as it is;
- when a scan completes, every scope it did not meet is gone from Egnyte: its row, if it has one (a user, a
  group), and its children are deleted.

A scan that stops early (quota, failure, kill) completes nothing, so it deletes nothing but the children of
scopes it read whole; the ledger is saved with the positions at every checkpoint, so a scan that spans several
syncs completes in the last of them. A record that exists throughout a scan is met by it (see pagination), so it
is never deleted; a record created during a scan and not met is not in the ledger, so it is not deleted either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from egnyte_async.keysets import decode_int_set, decode_mapping, encode_int_set, encode_mapping
from egnyte_async.log import Log
from egnyte_async.schema import Table
from egnyte_async.state import report_unreadable

Scope = int | str
Key = dict[str, Any]
Deletion = tuple[str, Key]


@dataclass(frozen=True)
class LedgerSpec:
    """How a stream's scopes and children map to destination rows.

    `parent` is the table whose rows are the scopes (users, groups), or None when a scope has no row of its own (a
    user's bookmarks: the user's row belongs to the users stream). `child` is the table of the children, and
    `child_key` the primary key of a child's row.
    """

    parent: Table | None
    child: Table | None = None
    child_key: Callable[[Scope, int], Key] | None = None

    def parent_key(self, scope: Scope) -> Key:
        assert self.parent is not None
        return {self.parent.primary_key[0]: scope}


class Ledger:
    """One stream's ledger: the scopes the last complete scan met with their children, and those met since."""

    def __init__(
        self, spec: LedgerSpec, known: dict[Scope, frozenset[int]] | None = None, met: set[Scope] | None = None
    ) -> None:
        self.spec = spec
        self.known: dict[Scope, frozenset[int]] = known or {}
        self.met: set[Scope] = met or set()
        #: `known` as saved, and each scope's position in it, until `known` changes: re-encoding a large tenant's
        #: memberships costs most of a second, while a checkpoint mid-scan only adds scopes met.
        self._known_text: str | None = None
        self._positions: dict[Scope, int] = {}

    def refresh(self, scope: Scope, children: frozenset[int] = frozenset()) -> list[Deletion]:
        """`scope` was read whole and holds exactly `children`: the children it no longer holds are deleted."""
        self.met.add(scope)
        before = self.known.get(scope)
        if before != children:
            self.known[scope] = children
            self._known_text = None
        return self._children_rows(scope, before - children) if before else []

    def keep(self, scope: Scope) -> None:
        """`scope` exists but was not read: whatever it holds stays as it is."""
        self.met.add(scope)
        if scope not in self.known:
            self.known[scope] = frozenset()
            self._known_text = None

    def complete(self) -> list[Deletion]:
        """The scan is over: every scope it did not meet is gone, with its children."""
        deletions: list[Deletion] = []
        for scope in [scope for scope in self.known if scope not in self.met]:
            if self.spec.parent is not None:
                deletions.append((self.spec.parent.name, self.spec.parent_key(scope)))
            deletions.extend(self._children_rows(scope, self.known.pop(scope)))
            self._known_text = None
        self.met = set()
        return deletions

    def _children_rows(self, scope: Scope, children: Iterable[int]) -> list[Deletion]:
        spec = self.spec
        if spec.child is None or spec.child_key is None:
            return []
        return [(spec.child.name, spec.child_key(scope, child)) for child in sorted(children)]

    def to_state(self) -> dict[str, Any]:
        """The scopes with their children, and which of them this scan met, as compact text (egnyte_async.keysets):
        a large tenant's ledgers stay within a few megabytes of state."""
        if self._known_text is None:
            self._known_text = encode_mapping(self.known)
            self._positions = {scope: position for position, scope in enumerate(sorted(self.known, key=_scope_order))}
        positions = self._positions
        return {"known": self._known_text, "met": encode_int_set(positions[scope] for scope in self.met)}

    @classmethod
    def from_state(cls, spec: LedgerSpec, raw: Any, stream: str, log: Log) -> Ledger:
        """The saved ledger; an unreadable one is reported and started afresh (nothing is deleted until a scan has
        met every scope again: late deletions, never wrong ones)."""
        if raw is None:
            return cls(spec)
        try:
            if not isinstance(raw, dict):
                raise ValueError(f"a {type(raw).__name__}, not an object")
            known = {scope: frozenset(children) for scope, children in decode_mapping(raw.get("known")).items()}
            scopes = sorted(known, key=_scope_order)
            met = {scopes[position] for position in decode_int_set(raw.get("met"))}
        except (ValueError, IndexError, TypeError) as error:
            again = "deletions are detected again from the next full scan"
            report_unreadable(log, stream, "'ledger'", raw, again, str(error))
            return cls(spec)
        return cls(spec, known, met)


def _scope_order(scope: Scope) -> tuple[int, int | str]:
    """Sorts scopes of either kind (whole numbers before strings), the same way on every sync."""
    return (0, scope) if type(scope) is int else (1, scope)


def ledgers_from_state(specs: Mapping[str, LedgerSpec], raw: Any, log: Log) -> dict[str, Ledger]:
    saved = raw if isinstance(raw, dict) else {}
    if raw is not None and not isinstance(raw, dict):
        report_unreadable(log, "state", "'ledgers'", raw, "deletions are detected again from the next full scans")
    return {name: Ledger.from_state(spec, saved.get(name), name, log) for name, spec in specs.items()}
