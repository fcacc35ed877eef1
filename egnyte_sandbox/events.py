"""The domain's event log, as `GET /pubapi/v1/events` serves it: what happened to notes and files, in id order.

Every note added or removed through the tenant (by a test, or by churn) appends a `note` event; `file_system`
events (create, delete, move of a path) are added by `Tenant.add_file_event` and, when
`file_system_events_per_note` is set, alongside each note event, so that the feed carries other types too. Ids
increase by one from 1. Only the latest `events_retention` events are kept: asking for events after an id older
than that is a 404, as Egnyte answers once an id has aged out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from .config import SandboxConfig

EVENT_TYPES = ("file_system", "note")


class EventLog:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._events: deque[dict[str, Any]] = deque()
        self.latest_id = 0
        #: The id of the last event dropped by retention (0: none dropped yet).
        self.floor = 0

    def __len__(self) -> int:
        return len(self._events)

    @property
    def oldest_id(self) -> int:
        """The oldest retained event's id (one past the latest when none is retained)."""
        return self.floor + 1

    def append(
        self,
        type_: str,
        action: str,
        object_detail: str,
        data: dict[str, Any],
        *,
        actor: int | str | None,
        timestamp: Any,
        action_source: str = "PublicAPI",
    ) -> dict[str, Any]:
        self.latest_id += 1
        event = {
            "id": self.latest_id,
            "timestamp": timestamp,
            "action_source": action_source,
            "actor": actor,
            "type": type_,
            "action": action,
            "object_detail": object_detail,
            "data": data,
        }
        self._events.append(event)
        while len(self._events) > self.config.events_retention:
            self.floor = self._events.popleft()["id"]
        return event

    def aged_out(self, after: int) -> bool:
        """Whether events after `after` include some no longer retained."""
        return after < self.floor

    def after(self, after: int, count: int, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """At most `count` events with an id above `after`, of `types` (all when None), oldest first."""
        wanted = None if types is None else frozenset(types)
        out: list[dict[str, Any]] = []
        if after >= self.latest_id or count <= 0:
            return out
        # Ids are consecutive among the retained events: start right at the first one above `after`.
        start = max(0, after - self.floor)
        for index in range(start, len(self._events)):
            event = self._events[index]
            if wanted is None or event["type"] in wanted:
                out.append(event)
                if len(out) == count:
                    break
        return out

    def all(self) -> list[dict[str, Any]]:
        """Every retained event, oldest first."""
        return list(self._events)
