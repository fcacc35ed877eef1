"""`/_sandbox/` endpoints: counters, the request log and a few levers for tests run against a live server.

They are neither counted, logged, rate limited nor faulted, so observing the sandbox never changes it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import responses
from .state import SandboxState


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    return json.loads(raw) if raw else {}


async def stats(request: Request) -> Response:
    return responses.json_response(_state(request).stats.as_dict())


async def requests(request: Request) -> Response:
    """The request log; `?since=N` returns only requests numbered above N."""
    since = int(request.query_params.get("since", "0"))
    return responses.json_response([r.as_dict() for r in _state(request).requests if r.number > since])


async def reset_stats(request: Request) -> Response:
    _state(request).reset_stats()
    return responses.json_response({"ok": True})


async def reset_quota(request: Request) -> Response:
    """Start a new quota day (and refill the per-second buckets) for every token."""
    _state(request).limiter.reset()
    return responses.json_response({"ok": True})


async def revoke_token(request: Request) -> Response:
    """Body `{"token": "..."}`: the token stops working at once (401 Developer Inactive), the static one too."""
    body = await _json(request)
    return responses.json_response({"revoked": _state(request).tokens.revoke(str(body.get("token", "")))})


async def tenant(request: Request) -> Response:
    t = _state(request).tenant
    counts = {
        "users": t.user_count,
        "groups": t.group_count,
        "notes": t.note_count,
        "bookmarks": t.bookmark_count,
    }
    return responses.json_response(counts)


async def mutate(request: Request) -> Response:
    """Body `{"resource": "users|groups|notes|bookmarks", "count": n, "username": "..."}`: apply churn now."""
    state = _state(request)
    body = await _json(request)
    resource = body.get("resource")
    if resource not in ("users", "groups", "notes", "bookmarks"):
        return responses.json_response({"error": "resource must be users, groups, notes or bookmarks"}, 400)
    try:
        applied = state.tenant.churn(resource, int(body.get("count", 1)), state.churn_rng, body.get("username"))
    except (KeyError, ValueError) as exc:
        return responses.json_response({"error": str(exc)}, 400)
    state.stats.churn_mutations += applied
    return responses.json_response({"applied": applied})


ROUTES = [
    Route("/_sandbox/stats", stats, methods=["GET"]),
    Route("/_sandbox/requests", requests, methods=["GET"]),
    Route("/_sandbox/tenant", tenant, methods=["GET"]),
    Route("/_sandbox/reset-stats", reset_stats, methods=["POST"]),
    Route("/_sandbox/reset-quota", reset_quota, methods=["POST"]),
    Route("/_sandbox/revoke-token", revoke_token, methods=["POST"]),
    Route("/_sandbox/mutate", mutate, methods=["POST"]),
]
