"""What a record weighs in memory, near enough: the characters of its text.

Counts, not bytes, bound the queue and the read-ahead by default; a tenant of long notes (a comment can hold a
million characters) needs the weight too. Measuring strings only, and one level deep, keeps this cheap enough to
run on every record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def record_chars(record: Mapping[str, Any]) -> int:
    """The characters in the record's string values and in those of its object values (`extra`, `name`)."""
    size = 0
    for value in record.values():
        if type(value) is str:
            size += len(value)
        elif type(value) is dict:
            size += sum(len(inner) for inner in value.values() if type(inner) is str)
    return size
