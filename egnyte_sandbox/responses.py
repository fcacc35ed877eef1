"""Response bodies in the shapes Egnyte uses: v2 `Errors` JSON, the various v1 error bodies, Mashery's HTML.

The connector has to cope with all of them, so each shape is reproduced as served, down to the content type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

JSON = "application/json"
HTML = "text/html"
MASHERY_CODE = "X-Mashery-Error-Code"


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json_bytes(payload), status_code=status, headers=headers, media_type=JSON)


def html_response(body: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body.encode("utf-8"), status_code=status, headers=headers, media_type=HTML)


def v2_error(status: int, description: str) -> Response:
    """`{"Errors": [{"description": ..., "code": "404"}]}`: the SCIM endpoints' error body (code is a string)."""
    return json_response({"Errors": [{"description": description, "code": str(status)}]}, status)


def v1_error(status: int, message: str, style: str) -> Response:
    """A v1 error body; which of the shapes seen in the wild is used depends on the `v1_error_style` switch."""
    if style == "errors":
        return json_response({"errors": [{"code": str(status), "description": message}]}, status)
    if style == "inputErrors":
        return json_response({"inputErrors": [{"code": "INVALID_PARAMETER", "msg": message}]}, status)
    if style == "message":
        return json_response({"message": message}, status)
    if style == "text":
        return Response(message.encode("utf-8"), status_code=status, media_type="text/plain")
    return html_response(f"<h1>{message}</h1>", status)


def developer_inactive(style: str) -> Response:
    """What Mashery answers for a missing, unknown, revoked or expired token."""
    if style == "json":
        return json_response({"errorMessage": "Developer Inactive"}, 401, {MASHERY_CODE: "ERR_401_DEVELOPER_INACTIVE"})
    if style == "403":
        return html_response("<h1>Developer Inactive</h1>", 403, {MASHERY_CODE: "ERR_403_DEVELOPER_INACTIVE"})
    return html_response("<h1>Developer Inactive</h1>", 401, {MASHERY_CODE: "ERR_401_DEVELOPER_INACTIVE"})


def throttled(kind: str, retry_after: int, style: str, headers: Mapping[str, str]) -> Response:
    """Over the per-second limit (kind "qps") or the daily quota (kind "quota")."""
    all_headers = {**headers, "Retry-After": str(retry_after)}
    if style == "429":
        return json_response({"errorMessage": "Too Many Requests"}, 429, all_headers)
    if kind == "qps":
        all_headers[MASHERY_CODE] = "ERR_403_DEVELOPER_OVER_QPS"
        return html_response("<h1>Developer Over Qps</h1>", 403, all_headers)
    all_headers[MASHERY_CODE] = "ERR_403_DEVELOPER_OVER_RATE"
    return html_response("<h1>Developer Over Rate</h1>", 403, all_headers)


_GATEWAY_TITLES = {502: "502 Bad Gateway", 504: "504 Gateway Time-out", 503: "503 Service Temporarily Unavailable"}


def server_fault(status: int) -> Response:
    """A 5xx as the backend (500, JSON) or the gateway in front of it (502/503/504, HTML) would send it."""
    if status == 500:
        return v2_error(500, "Internal server error.")
    title = _GATEWAY_TITLES[status]
    body = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
    return html_response(body, status)


def malformed() -> Response:
    """A 200 whose body is not JSON although it claims to be: a maintenance page behind a misconfigured proxy."""
    body = "<!DOCTYPE html><html><body><h1>Egnyte is undergoing scheduled maintenance</h1></body></html>"
    return Response(body.encode("utf-8"), status_code=200, media_type=JSON)
