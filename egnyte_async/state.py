"""The state Fivetran keeps between syncs: each stream's own part, the day's request count and the ledgers.

    {"version": 1,
     "tenant": "acme.egnyte.com",
     "streams": {"users": {"scan": {"index": 201, "tail": [...]}}, "notes": {"cursor": "...", ...}, ...},
     "quota": {"window_started": "2026-11-28T00:00:00Z", "window_ends": "2026-11-29T00:00:00Z", "calls": 412,
               "allotted": 1000},
     "ledgers": {"users": {...}, "groups": {...}, "bookmarks": {...}}}

What a stream's part means is the stream's business: each stream reads its part into a typed object (a
`StreamState`) and writes it back; this module only keeps the parts apart. An empty part means "start a fresh
scan". Every sync runs every enabled stream, each from its own part: the cheap listings first, then the costly
fan-outs from where the last sync left them (streams/phases.py). The previous release's `round_done` (streams
that waited for the others to finish a round) is read as nothing: no stream waits now. Nothing secret is ever
stored here. `fan_outs_pending` says that the last sync ended before its listings were all over (the quota, a
kill): the next one then only finishes the listings under way and starts no new one, so that the fan-outs get their
turn even when a sync cannot hold both.

Every part is checked as it is read: a part that is not what this release writes (a hand-edited state, a bug of an
earlier release) restarts that part, with a warning naming the stream and the part; it never fails the sync and is
never dropped without a word. A state written by a newer release (a larger `version`) is refused before any
request: its parts may mean something this release cannot tell. A state without a version, or with an older one,
is read as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from egnyte_async.errors import FatalError
from egnyte_async.log import Log

STATE_VERSION = 1
#: What a saved id may be: what `pagination.record_key` makes of a record (its id, or a JSON text or a digest).
SCALARS = (str, int, float, bool, type(None))


class StateVersionError(FatalError):
    """The saved state was written by a newer release of the connector, which this release cannot read safely."""


class StreamState(Protocol):
    """One stream's resumable position, as the stream itself understands it."""

    def to_state(self) -> dict[str, Any]:
        """The JSON-ready dict saved in the state (and read back by the stream's `read_state`)."""
        ...

    def describe(self) -> str:
        """Where the next read of this stream starts, in a few words for the log."""
        ...


def shown(value: Any) -> str:
    """A saved value as a warning shows it: its JSON type and its beginning."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'…' if len(text) > 60 else ''}"


def report_unreadable(log: Log, stream: str, part: str, value: Any, consequence: str, why: str = "") -> None:
    """Warns that the saved `part` of `stream` cannot be read, showing it, why, and what is done instead."""
    because = f"{why}: " if why else ""
    log.warning(f"{stream}: the saved {part} is unreadable ({because}{shown(value)}); {consequence}")


def readable_part(raw: Mapping[str, Any], key: str, stream: str, log: Log) -> dict[str, Any] | None:
    """`raw[key]` when it is a JSON object; None when absent; None with a warning when it is anything else, so that
    the part restarts instead of failing the sync."""
    value = raw.get(key)
    if value is None or isinstance(value, dict):
        return value
    report_unreadable(log, stream, repr(key), value, "that part starts afresh")
    return None


def is_id(value: Any) -> bool:
    """Whether a saved record id (the last record done inside a page) is usable: a string or a whole number."""
    return type(value) is str or type(value) is int


def read_id(raw: Mapping[str, Any], key: str, stream: str, log: Log, consequence: str) -> str | int | None:
    """`raw[key]` when it is a usable record id; None when absent; None with a warning when it is anything else."""
    value = raw.get(key)
    if value is None or is_id(value):
        return value
    report_unreadable(log, stream, repr(key), value, consequence)
    return None


def _version(saved: Mapping[str, Any], log: Log) -> None:
    """Refuses a state of a newer release; an older one, or one without a version, is read as it is."""
    version = saved.get("version")
    if version is None:
        return
    if type(version) is not int:
        report_unreadable(log, "state", "'version'", version, f"reading the state as version {STATE_VERSION}")
        return
    if version > STATE_VERSION:
        raise StateVersionError(
            f"the saved state has version {version}, written by a newer release of this connector (this release "
            f"reads state versions up to {STATE_VERSION}). Upgrade the connector, or reset the connection's state "
            "(a full re-sync) to go on with this release."
        )


def _of_this_tenant(saved: Mapping[str, Any], tenant: str, log: Log) -> bool:
    """Whether the saved state may be used for `tenant`. A state written for another Egnyte host must never be:
    its positions and its quota count mean nothing here (another tenant's notes would be skipped, its spent budget
    would stop this one). A state that names no tenant was written by an earlier release: it is taken as this one's.
    """
    written_for = saved.get("tenant")
    if written_for is None or written_for == tenant:
        return True
    if isinstance(written_for, str):
        log.warning(
            f"state: the saved state was written for {written_for}, but configuration.json now names {tenant}: it "
            f"is not used, and this sync starts afresh. Rows synced from {written_for} stay in the destination; to "
            "clear them, reset the connection (`fivetran reset`, or `python3 dev.py sync --fresh` for the local demo)."
        )
    else:
        report_unreadable(log, "state", "'tenant'", written_for, "the state is not used and this sync starts afresh")
    return False


class SyncState:
    def __init__(
        self,
        streams: dict[str, dict[str, Any]],
        quota: Any,
        tenant: str = "",
        ledgers: Any = None,
        fan_outs_pending: bool = False,
    ) -> None:
        self.tenant = tenant
        #: The last sync ended (stopped, killed) before its listings were all over: the fan-outs had no turn.
        self.fan_outs_pending = fan_outs_pending
        #: The streams' ledgers as saved, for `ledger.ledgers_from_state` to read (and to judge).
        self.ledgers = ledgers
        self.streams = streams
        #: Positions reached since the last `to_dict`, saved by it.
        self._advanced: dict[str, StreamState] = {}
        #: The quota part as saved, for `budget.QuotaWindow.from_state` to read (and to judge).
        self.quota = quota

    @classmethod
    def load(cls, state: Any, names: Iterable[str], log: Log, tenant: str = "") -> SyncState:
        """Reads a saved state, keeping the parts of the streams in `names`; anything unreadable restarts that part
        from scratch, with a warning, rather than failing. A state of another tenant is not used at all. Raises
        StateVersionError for a newer release's state."""
        known = tuple(names)
        saved: Mapping[str, Any] = {}
        if isinstance(state, Mapping):
            saved = state
        elif state is not None:
            report_unreadable(log, "state", "state", state, "every stream starts afresh")
        _version(saved, log)
        if not _of_this_tenant(saved, tenant, log):
            saved = {}
        raw_streams = saved.get("streams")
        if raw_streams is not None and not isinstance(raw_streams, dict):
            report_unreadable(log, "state", "'streams'", raw_streams, "every stream starts afresh")
            raw_streams = None
        streams: dict[str, dict[str, Any]] = {}
        for name in known:
            part = (raw_streams or {}).get(name)
            if isinstance(part, dict):
                streams[name] = copy.deepcopy(part)
            elif part is not None:
                report_unreadable(log, name, "state of this stream", part, "the stream starts afresh")
        return cls(streams, saved.get("quota"), tenant, saved.get("ledgers"), saved.get("fan_outs_pending") is True)

    def part(self, stream: str) -> dict[str, Any]:
        """The saved part of `stream` (a copy), for the stream to read."""
        return copy.deepcopy(self.streams.get(stream, {}))

    def advance(self, stream: str, position: StreamState) -> None:
        """`stream` has reached `position`. Turned into its saved form only at the next checkpoint: a fan-out
        advances once per record, and a position that names the records of a pass costs their encoding."""
        self._advanced[stream] = position

    def to_dict(
        self, quota: dict[str, Any], ledgers: dict[str, Any] | None = None, fan_outs_pending: bool = False
    ) -> dict[str, Any]:
        for stream, position in self._advanced.items():
            self.streams[stream] = position.to_state()
        self._advanced.clear()
        saved: dict[str, Any] = {
            "version": STATE_VERSION,
            "tenant": self.tenant,
            "streams": copy.deepcopy(self.streams),
            "quota": quota,
        }
        if ledgers:
            saved["ledgers"] = ledgers
        if fan_outs_pending:
            saved["fan_outs_pending"] = True
        return saved
