"""What a stream is: a name, the tables it writes, the state it keeps and the producer that reads Egnyte."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from egnyte_async.items import Batch
from egnyte_async.ledger import LedgerSpec
from egnyte_async.log import Log
from egnyte_async.schema import Table
from egnyte_async.state import StreamState
from egnyte_async.streams.context import StreamContext

S = TypeVar("S", bound=StreamState)


@dataclass(frozen=True)
class Stream(Generic[S]):
    """Everything the connector knows of one stream; the pipeline, the schema, the settings and the state ask it.

    `read_state` turns the stream's saved part of the state (an empty dict on a first sync) into its typed state,
    reporting through the log any part it cannot read; `produce` reads Egnyte from that state and yields pages of
    batches of rows, each with the state that holds once they are written.
    """

    name: str
    tables: tuple[Table, ...]
    read_state: Callable[[Mapping[str, Any], Log], S]
    produce: Callable[[StreamContext, S], AsyncIterator[Batch]]
    enabled_by_default: bool = True
    #: For a stream that re-reads whole listings: how its scopes map to rows, so that deletions are detected.
    ledger: LedgerSpec | None = None
    #: What the records of its listing are, for progress lines ("users", "groups detailed").
    unit: str = "records"
    #: Whether it makes a call per record once the listings are over (group details, users' bookmarks): such a
    #: stream waits for the listings and takes its turn among the fan-outs' tiers (streams/phases.py).
    fans_out: bool = False

    @property
    def flag(self) -> str:
        """The configuration key that turns the stream on or off."""
        return f"enable_{self.name}"
