"""SCIM v2 listings (users, groups): `startIndex` from 1, `count`, and their envelope."""

from __future__ import annotations

from typing import Any

from egnyte_async.pagination import Listing, Page, optional_int, require_list

FIRST_INDEX = 1


def parse_scim_page(body: Any) -> Page:
    """`resources` and `totalResults`; `itemsPerPage` is never trusted."""
    items = require_list(body, "resources", "SCIM listing")
    return Page(items, optional_int(body, "totalResults"), optional_int(body, "startIndex"))


def scim_listing(name: str, path: str, page_size: int) -> Listing:
    return Listing(name, path, "startIndex", FIRST_INDEX, page_size, parse_scim_page)
