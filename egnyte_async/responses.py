"""Reading what Egnyte answered: throttle codes, Retry-After, and error bodies in any of their shapes."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

MASHERY_CODE = "X-Mashery-Error-Code"
OVER_QPS = "ERR_403_DEVELOPER_OVER_QPS"
OVER_RATE = "ERR_403_DEVELOPER_OVER_RATE"
DEVELOPER_INACTIVE = "ERR_403_DEVELOPER_INACTIVE"
#: The longest error text quoted in a message: bodies can be whole HTML pages.
QUOTE_LIMIT = 300
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds, whether given as a number or as an HTTP date; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment = _http_date(value)
    if moment is None:
        return None
    now = _http_date(response.headers.get("Date", "")) or datetime.now(timezone.utc)
    return max(0.0, (moment - now).total_seconds())


def _http_date(value: str) -> datetime | None:
    """An HTTP date as an aware datetime, or None when unreadable.

    An HTTP date is in GMT: one with the zone -0000 or none at all, which `parsedate_to_datetime` leaves naive, is
    read as UTC (a naive one cannot be compared with an aware one). A day or year too large overflows."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def error_text(response: httpx.Response) -> str:
    """The most useful sentence of an error body: v2 `Errors`, v1 `errors`/`inputErrors`/`message`, plain or HTML."""
    raw = response.text
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder recurses
        body = None
    texts: list[str] = []
    if isinstance(body, dict):
        for key in ("Errors", "errors", "inputErrors"):
            items = body.get(key)
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        texts.append(str(item.get("description") or item.get("msg") or item.get("message") or item))
                    else:
                        texts.append(str(item))
        for key in ("message", "errorMessage", "error_description", "error"):
            if isinstance(body.get(key), str):
                texts.append(body[key])
    text = "; ".join(texts) if texts else _SPACES.sub(" ", _TAGS.sub(" ", raw)).strip()
    if len(text) > QUOTE_LIMIT:
        text = text[:QUOTE_LIMIT] + "…"
    return text or "empty body"
