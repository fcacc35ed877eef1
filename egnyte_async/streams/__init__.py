"""One module per stream: which endpoint it reads, how it pages, how records become rows, what state it keeps.

Each module ends in a `STREAM` (a `Stream`); `egnyte_async.catalog` lists them.
"""
