"""The README's table reference and the catalog agree: every column documented exists, with its type, and every
column of every table is documented."""

from __future__ import annotations

import re
from pathlib import Path

from egnyte_async.catalog import all_tables

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> dict[str, dict[str, str]]:
    text = README.read_text()
    section = text[text.index("## Tables created") : text.index("## Rights, tokens and limits")]
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in section.splitlines():
        heading = re.match(r"\*\*`(\w+)`\*\*", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        row = re.match(r"\| (`[^|]+`) \| (\w+) \|", line)
        if row and current is not None:
            for name in re.findall(r"`(\w+)`", row.group(1)):
                current[name] = row.group(2)
    return tables


def test_every_table_and_column_is_documented_with_its_type():
    declared = {table.name: dict(table.columns) for table in all_tables()}
    assert documented() == declared
