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
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("Date")
    try:
        now = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        now = None
    if now is None:
        now = datetime.now(timezone.utc)
    return max(0.0, (moment - now).total_seconds())


def error_text(response: httpx.Response) -> str:
    """The most useful sentence of an error body: v2 `Errors`, v1 `errors`/`inputErrors`/`message`, plain or HTML."""
    raw = response.text
    try:
        body = json.loads(raw)
    except ValueError:
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
