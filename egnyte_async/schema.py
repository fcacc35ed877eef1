"""What a destination table is: its name, its primary key and the columns whose type must not be guessed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: tuple[str, ...]
    #: Column name to Fivetran type (STRING, LONG, BOOLEAN, UTC_DATETIME, JSON...).
    columns: Mapping[str, str]

    def declaration(self) -> dict[str, Any]:
        """The table as `schema()` hands it to the SDK."""
        return {"table": self.name, "primary_key": list(self.primary_key), "columns": dict(self.columns)}

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[column] for column in self.primary_key)
