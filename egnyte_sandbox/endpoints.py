"""The four resources and userinfo, as Egnyte serves them (after the gateway has authenticated the caller)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import responses
from .auth import AccessToken
from .dates import parse_bound
from .events import EVENT_TYPES
from .paging import ApiError, Page, integer, offset_page, page_size, scim_page
from .state import SandboxState

Handler = Callable[[Request], Awaitable[Response]]
_FILTER = re.compile(r'^\s*(userName|email|externalId)\s+eq\s+"(.*)"\s*$', re.IGNORECASE)
_SCIM_SCHEMAS = ["urn:scim:schemas:core:1.0"]


def endpoint(version: int) -> Callable[[Handler], Handler]:
    """Render ApiError as the error body of the API version the endpoint belongs to."""

    def wrap(func: Handler) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                return await func(request)
            except ApiError as exc:
                if version == 2:
                    return responses.v2_error(exc.status, exc.message)
                return responses.v1_error(exc.status, exc.message, sandbox(request).config.v1_error_style)

        handler.__name__ = func.__name__
        handler.__doc__ = func.__doc__
        return handler

    return wrap


def sandbox(request: Request) -> SandboxState:
    return request.app.state.sandbox


def acting_user(request: Request) -> str:
    """The user the request acts for: the token's, or the one named in X-Egnyte-Act-As (by username) or
    X-Egnyte-Act-As-Email (by e-mail address, python-egnyte's form), for admins only.

    Acting as a user who does not exist (deleted since they were listed, say) is a 404; acting as a deactivated
    user a 400 "User X is not active".
    """
    state = sandbox(request)
    token: AccessToken = request.scope["sandbox.token"]
    by_name = request.headers.get("x-egnyte-act-as")
    by_email = request.headers.get("x-egnyte-act-as-email")
    if not (by_name or by_email) or by_name == token.username:
        return token.username
    users = state.tenant.users
    entry = users.find(by_name) if by_name else users.find_by("email", by_email or "")
    if entry is not None and users.identity(entry[0]).username == token.username:
        return token.username
    if not state.tenant.is_admin(token.username):
        raise ApiError(403, "Only administrators can act as another user.")
    if entry is None:
        raise ApiError(404, f"User {by_name or by_email} not found.")
    username = users.identity(entry[0]).username
    if not users.is_active(entry):
        raise ApiError(400, f"User {username} is not active.")
    return username


def require_admin(request: Request) -> str:
    user = acting_user(request)
    if not sandbox(request).tenant.is_admin(user):
        raise ApiError(403, "You are not authorized to perform this action.")
    return user


def list_response(request: Request, payload: dict[str, Any], key: str) -> Response:
    """Serve a list envelope, unless this request drew a list fault (repeat the previous page, drop the key)."""
    state = sandbox(request)
    fault = request.scope.get("sandbox.fault")
    record = request.scope.get("sandbox.record")
    body = responses.json_bytes(payload)
    if state.remember_pages:
        # "The same listing" is the path, the caller and every parameter except the paging ones.
        params = {k: v for k, v in request.query_params.items() if k not in ("startIndex", "count", "offset")}
        stream = (
            request.url.path,
            request.scope["sandbox.token"].value,
            request.headers.get("x-egnyte-act-as"),
            request.headers.get("x-egnyte-act-as-email"),
        )
        listing = (*stream, tuple(sorted(params.items())))
        previous = state.last_pages.get(listing)
        if fault == "repeat_page" and previous is not None:
            state.count_fault(record, fault)
            return Response(previous, media_type=responses.JSON)
        state.remember_page(listing, body)
    if fault == "bad_envelope":
        state.count_fault(record, fault)
        return responses.json_response({k: v for k, v in payload.items() if k != key})
    return Response(body, media_type=responses.JSON)


def scim_envelope(request: Request, total: int, page: Page, resources: list[dict[str, Any]]) -> Response:
    cfg = sandbox(request).config
    payload: dict[str, Any] = {"schemas": _SCIM_SCHEMAS} if cfg.scim_schemas else {}
    payload["startIndex"] = page.start + 1
    payload["totalResults"] = total
    payload["itemsPerPage"] = len(resources) if cfg.items_per_page == "returned" else page.requested
    payload["resources"] = resources
    return list_response(request, payload, "resources")


@endpoint(version=2)
async def list_users(request: Request) -> Response:
    """`GET /pubapi/v2/users`: SCIM paging, optional `filter=userName|email|externalId eq "..."`."""
    require_admin(request)
    state = sandbox(request)
    cfg = state.config
    page = scim_page(request.query_params, cfg.scim_max_count, cfg.over_max_count)
    state.churn("users")
    tenant = state.tenant
    expression = request.query_params.get("filter")
    if expression:
        match = _FILTER.match(expression)
        if not match:
            raise ApiError(400, f"Invalid filter: {expression}")
        entry = tenant.users.find_by(match.group(1).lower(), match.group(2))
        matches = [tenant.users.record(entry[0])] if entry else []
        return scim_envelope(request, len(matches), page, matches[page.start : page.start + page.count])
    listed = tenant.users_page(page.start, page.count)
    served = scim_envelope(request, tenant.user_count, page, listed)
    state.delete_listed_users(page.start, len(listed))
    return served


@endpoint(version=2)
async def list_groups(request: Request) -> Response:
    """`GET /pubapi/v2/groups`: id and displayName only; members need one detail call per group."""
    require_admin(request)
    state = sandbox(request)
    cfg = state.config
    page = scim_page(request.query_params, cfg.scim_max_count, cfg.over_max_count)
    state.churn("groups")
    return scim_envelope(request, state.tenant.group_count, page, state.tenant.groups_page(page.start, page.count))


@endpoint(version=2)
async def group_detail(request: Request) -> Response:
    """`GET /pubapi/v2/groups/{id}` with its members."""
    require_admin(request)
    group_id = request.path_params["group_id"]
    try:
        body = sandbox(request).tenant.group_detail(group_id)
    except KeyError:
        raise ApiError(404, f"Group {group_id} not found.") from None
    return responses.json_response(body)


def _bounds(request: Request) -> tuple[int | None, int | None]:
    mode = sandbox(request).config.notes_time_filter
    if mode == "ignore":
        return None, None
    out: list[int | None] = []
    for name in ("start_time", "end_time"):
        raw = request.query_params.get(name)
        if not raw:
            out.append(None)
            continue
        try:
            out.append(parse_bound(raw, mode))
        except ValueError as exc:
            raise ApiError(400, f"Invalid value for parameter {name}: {exc}") from None
    return out[0], out[1]


@endpoint(version=1)
async def list_notes(request: Request) -> Response:
    """`GET /pubapi/v1/notes`: domain-wide for admins, or for one `file` / under one `folder` for anyone."""
    state = sandbox(request)
    cfg = state.config
    tenant = state.tenant
    user = acting_user(request)
    file_path = request.query_params.get("file")
    folder = request.query_params.get("folder")
    if not file_path and not folder and not tenant.is_admin(user):
        raise ApiError(403, "Listing notes of the whole domain requires an administrator.")
    page = offset_page(request.query_params, cfg.notes_max_count, cfg.over_max_count)
    start_ms, end_ms = _bounds(request)
    state.churn("notes")
    descending = cfg.notes_order == "desc"
    inclusive = cfg.notes_bounds == "inclusive"
    lo, hi = tenant.notes.window(start_ms, end_ms, inclusive)
    if file_path or folder:
        # Scans the window: fine for the per-file use this is meant for, never used by a domain-wide sync.
        prefix = folder.rstrip("/") + "/" if folder else None
        chosen = [
            note
            for note in (tenant.notes.record(ordinal) for ordinal, _ in tenant.notes.index.slice(lo, hi))
            if note["file_path"] == file_path or (prefix and note["file_path"].startswith(prefix))
        ]
        if descending:
            chosen.reverse()
        total, notes = len(chosen), chosen[page.start : page.start + page.count]
    else:
        total, notes = hi - lo, tenant.notes.page(lo, hi, page.start, page.count, descending)
    payload: dict[str, Any] = {}
    if cfg.notes_total:
        payload["total_results"] = total
    payload["offset"] = page.start
    if cfg.notes_count_key:
        payload["count"] = len(notes)
    payload["notes"] = notes
    return list_response(request, payload, "notes")


@endpoint(version=1)
async def list_bookmarks(request: Request) -> Response:
    """`GET /pubapi/v1/bookmarks`: the acting user's own bookmarks, in id order."""
    state = sandbox(request)
    cfg = state.config
    user = acting_user(request)
    page = offset_page(request.query_params, cfg.bookmarks_max_count, cfg.over_max_count, cfg.bookmarks_offset_base)
    state.churn("bookmarks", user)
    tenant = state.tenant
    items = tenant.bookmarks_page(user, page.start, page.count)
    payload: dict[str, Any] = {"offset": page.start + cfg.bookmarks_offset_base, "count": len(items)}
    if cfg.bookmarks_total:
        payload["total_results"] = tenant.bookmark_count_of(user)
    payload["bookmarks"] = items
    return list_response(request, payload, "bookmarks")


@endpoint(version=1)
async def userinfo(request: Request) -> Response:
    """`GET /pubapi/v1/userinfo` for the acting user."""
    info = sandbox(request).tenant.userinfo(acting_user(request))
    if info is None:
        raise ApiError(404, "User not found.")
    return responses.json_response(info)


def _events_allowed(request: Request) -> None:
    """The events API: on plans that include it (else 403, as Egnyte answers), for administrators."""
    if not sandbox(request).config.events_available:
        raise ApiError(403, "The Events API is not available for this domain's plan.")
    require_admin(request)


@endpoint(version=1)
async def events_cursor(request: Request) -> Response:
    """`GET /pubapi/v1/events/cursor`: `{timestamp, latest_event_id, oldest_event_id}`."""
    _events_allowed(request)
    tenant = sandbox(request).tenant
    log = tenant.events
    return responses.json_response(
        {"timestamp": tenant.now_rendered(), "latest_event_id": log.latest_id, "oldest_event_id": log.oldest_id}
    )


@endpoint(version=1)
async def list_events(request: Request) -> Response:
    """`GET /pubapi/v1/events?id=<after>&count=<n>&type=note,file_system`: the events after `id`, oldest first;
    204 without a body when none matches, 404 when `id` is older than the oldest event kept."""
    _events_allowed(request)
    state = sandbox(request)
    cfg = state.config
    params = request.query_params
    if not params.get("id"):
        raise ApiError(400, "Parameter id is required.")
    after = integer(params, "id", 0)
    count, _ = page_size(params, cfg.events_max_count, cfg.over_max_count)
    types: list[str] | None = None
    if params.get("type"):
        types = [part.strip() for part in params["type"].split(",") if part.strip()]
        unknown = [part for part in types if part not in EVENT_TYPES]
        if unknown:
            raise ApiError(400, f"Invalid value for parameter type: {', '.join(unknown)}.")
    log = state.tenant.events
    if log.aged_out(after):
        raise ApiError(404, f"Event id {after} is older than the oldest event kept ({log.oldest_id}).")
    events = log.after(after, count, types)
    if not events:
        return Response(status_code=204)
    payload: dict[str, Any] = {"latest_id": log.latest_id, "oldest_id": log.oldest_id}
    if cfg.events_count_key:
        payload["count"] = len(events)
    payload["events"] = events
    return list_response(request, payload, "events")


@endpoint(version=1)
async def note_detail(request: Request) -> Response:
    """`GET /pubapi/v1/notes/{id}`: one note; 404 when there is none (deleted, or never was)."""
    state = sandbox(request)
    user = acting_user(request)
    note_id = request.path_params["note_id"]
    note = state.tenant.note_by_id(note_id)
    if note is None:
        raise ApiError(404, f"Note {note_id} not found.")
    if not state.tenant.is_admin(user) and note["username"] != user:
        raise ApiError(403, "You are not authorized to see this note.")
    return responses.json_response(note)
