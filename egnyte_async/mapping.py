"""Egnyte JSON objects turned into flat rows, one function per destination table.

Rows keep everything Egnyte sent: fields without a column of their own land in the JSON column `extra`, so a
field Egnyte adds tomorrow is in the destination the same day. A value that cannot be read (a date in an unknown
format, a boolean that is neither true nor false) empties its column, is kept raw in `extra` under
`unparsed_<column>` and is reported through `warn`: one odd field never costs the whole record. Only a record
without a usable primary key is refused, with RecordError.

These functions run for every record of every sync, so the lookups they need are built once, at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from egnyte_async.dates import to_utc_iso
from egnyte_async.schema import Table

__all__ = [
    "MAX_TEXT_LENGTH",
    "RecordError",
    "Warn",
    "cap_long_values",
    "map_bookmark",
    "map_event",
    "map_group",
    "map_group_members",
    "map_note",
    "map_user",
]

Warn = Callable[[str], None]
Row = dict[str, Any]
#: A decoded JSON object as Egnyte sent it: its values are unchecked.
JsonObject = dict[str, Any]
#: (Egnyte field, column) pairs.
_FieldColumns = tuple[tuple[str, str], ...]

_LONG_MIN = -(2**63)
_LONG_MAX = 2**63 - 1
_BOOLEAN_TEXT = {"true": True, "false": False}
_LONGEST_VALUE_IN_MESSAGE = 200
#: The longest text kept in one value. Nothing Egnyte holds comes near it; a longer value (a runaway note, a
#: corrupt field) would be refused by many destinations (a Snowflake VARCHAR holds 16 MB, a Redshift one 64 KB)
#: and weigh on every sync that carries it, so it is cut, and the record kept.
MAX_TEXT_LENGTH = 1_000_000


class RecordError(ValueError):
    """An Egnyte object that cannot become a row: it is not an object, or its primary key is missing or unusable."""


def _no_warning(message: str) -> None:
    """The default `warn`: the caller chose not to hear about values that could not be read."""


# (Egnyte field, column) pairs that need checking after the plain copy.
_USER_DATES: _FieldColumns = (
    ("expiryDate", "expiry_date"),
    ("createdDate", "created_date"),
    ("lastModificationDate", "modified_date"),
    ("lastActiveDate", "last_active_date"),
)
_USER_FLAGS: _FieldColumns = (
    ("active", "active"),
    ("locked", "locked"),
    ("emailChangePending", "email_change_pending"),
    ("deleteOnExpiry", "delete_on_expiry"),
)
_USER_FIELDS = frozenset(
    {
        "id",
        "userName",
        "email",
        "name",
        "role",
        "userType",
        "authType",
        "externalId",
        "idpUserId",
        "userPrincipalName",
        "schemas",  # the SCIM schema URNs: the same on every user, no information
        "groups",  # the user's groups, when the listing gives them: group_members' data (streams/users.py)
        *(egnyte for egnyte, _ in _USER_DATES),
        *(egnyte for egnyte, _ in _USER_FLAGS),
    },
)
_USER_NAME_FIELDS = frozenset({"givenName", "familyName", "formatted"})
_GROUP_FIELDS = frozenset({"id", "displayName", "members", "schemas"})
_MEMBER_FIELDS = frozenset({"value", "username", "display"})
_NOTE_FIELDS = frozenset(
    {"id", "message", "username", "formatted_name", "creation_time", "file_path", "group_id", "file_id", "can_delete"},
)
_BOOKMARK_FIELDS = frozenset({"id", "path", "folder_id", "creation_date"})
_NOTE_DATES: _FieldColumns = (("creation_time", "created_date"),)
_NOTE_FLAGS: _FieldColumns = (("can_delete", "can_delete"),)
_BOOKMARK_DATES: _FieldColumns = (("creation_date", "created_date"),)
_EVENT_FIELDS = frozenset({"id", "timestamp", "type", "action", "action_source", "actor", "object_detail", "data"})
_EVENT_DATES: _FieldColumns = (("timestamp", "timestamp"),)


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) > _LONGEST_VALUE_IN_MESSAGE:
        return f"{text[:_LONGEST_VALUE_IN_MESSAGE]}... ({len(text)} characters)"
    return text


def _require_object(obj: object, table: str) -> None:
    if not isinstance(obj, dict):
        raise RecordError(f"{table} record is a {type(obj).__name__}, not a JSON object: {_shown(obj)}")


def _long_id(value: object, table: str, key: str = "id") -> int:
    """A LONG key from a JSON number or a string of digits (one Egnyte SDK fixture sends user ids as strings)."""
    number: int | None = None
    if type(value) is int:
        number = value
    elif type(value) is str:
        text = value.strip()
        if text.isascii() and text.isdigit():
            number = int(text)
    elif type(value) is float and value.is_integer():
        number = int(value)
    if number is not None and _LONG_MIN <= number <= _LONG_MAX:
        return number
    if value is None:
        raise RecordError(f"{table} record has no {key}")
    raise RecordError(f"{table} record: {key} {_shown(value)} is not a whole number that fits a LONG")


def _string_id(value: object, table: str, key: str = "id") -> str:
    if type(value) is str:
        if value.strip():
            return value
    elif type(value) is int:
        return str(value)
    if value is None:
        raise RecordError(f"{table} record has no {key}")
    raise RecordError(f"{table} record: {key} {_shown(value)} is not a usable identifier")


def _unread(
    row: Row, extra: JsonObject | None, column: str, raw: object, what: str, table: str, field: str, warn: Warn
) -> JsonObject:
    """Empty `column`, keep `raw` in extra as `unparsed_<column>`, say so; returns the (possibly new) extra dict."""
    row[column] = None
    if extra is None:
        extra = {}
    extra[f"unparsed_{column}"] = raw
    warn(f"{table} record {row['id']!r}: {field} {_shown(raw)} is not {what}; kept in extra.unparsed_{column}")
    return extra


def _check_dates(row: Row, extra: JsonObject | None, pairs: _FieldColumns, table: str, warn: Warn) -> JsonObject | None:
    """Turn each raw date in `row` into canonical UTC text, in place."""
    for field, column in pairs:
        raw = row[column]
        if raw is not None:
            try:
                row[column] = to_utc_iso(raw)
            except ValueError:
                extra = _unread(row, extra, column, raw, "a date", table, field, warn)
    return extra


def _check_flags(row: Row, extra: JsonObject | None, pairs: _FieldColumns, table: str, warn: Warn) -> JsonObject | None:
    """Leave JSON booleans alone; read "true"/"false" and 0/1; anything else would fail the BOOLEAN column."""
    for field, column in pairs:
        value = row[column]
        if value is None or value is True or value is False:
            continue
        if type(value) is str and value.strip().lower() in _BOOLEAN_TEXT:
            row[column] = _BOOLEAN_TEXT[value.strip().lower()]
        elif type(value) is int and value in (0, 1):
            row[column] = value == 1
        else:
            extra = _unread(row, extra, column, value, "a boolean", table, field, warn)
    return extra


def _add_unknown(obj: JsonObject, known: frozenset[str], extra: JsonObject | None) -> JsonObject | None:
    if known.issuperset(obj):
        return extra
    if extra is None:
        extra = {}
    for key, value in obj.items():
        if key not in known:
            extra[key] = value
    return extra


def map_user(obj: JsonObject, warn: Warn = _no_warning) -> Row:
    """A SCIM user from `GET /pubapi/v2/users` as a `users` row."""
    _require_object(obj, "users")
    get = obj.get
    user_id = _long_id(get("id"), "users")
    extra: JsonObject | None = None
    name = get("name")
    if type(name) is dict:
        given, family, formatted = name.get("givenName"), name.get("familyName"), name.get("formatted")
        if not _USER_NAME_FIELDS.issuperset(name):
            extra = {"name": {key: value for key, value in name.items() if key not in _USER_NAME_FIELDS}}
    else:
        given = family = formatted = None
        if name is not None:
            extra = {"name": name}
            warn(f"users record {user_id!r}: name {_shown(name)} is not an object; kept in extra.name")
    row = {
        "id": user_id,
        "username": get("userName"),
        "email": get("email"),
        "first_name": given,
        "last_name": family,
        "display_name": formatted,
        "role": get("role"),
        "user_type": get("userType"),
        "auth_type": get("authType"),
        "active": get("active"),
        "locked": get("locked"),
        "external_id": get("externalId"),
        "idp_user_id": get("idpUserId"),
        "user_principal_name": get("userPrincipalName"),
        "email_change_pending": get("emailChangePending"),
        "expiry_date": get("expiryDate"),
        "delete_on_expiry": get("deleteOnExpiry"),
        "created_date": get("createdDate"),
        "modified_date": get("lastModificationDate"),
        "last_active_date": get("lastActiveDate"),
    }
    extra = _check_flags(row, extra, _USER_FLAGS, "users", warn)
    extra = _check_dates(row, extra, _USER_DATES, "users", warn)
    row["extra"] = _add_unknown(obj, _USER_FIELDS, extra)
    return row


def map_group(obj: JsonObject, members: list[Any] | None = None, warn: Warn = _no_warning) -> Row:
    """A group from `GET /pubapi/v2/groups` (or its detail) as a `groups` row.

    `members` is the member list from the group's detail call; without it the count is taken from a `members`
    list in `obj` if there is one, and is otherwise unknown (None), never a misleading 0.
    """
    _require_object(obj, "groups")
    group_id = _string_id(obj.get("id"), "groups")
    if members is None:
        members = obj.get("members")
    return {
        "id": group_id,
        "display_name": obj.get("displayName"),
        "member_count": len(members) if isinstance(members, list) else None,
        "extra": _add_unknown(obj, _GROUP_FIELDS, None),
    }


def map_group_members(group_id: str, members: list[Any], warn: Warn = _no_warning) -> list[Row]:
    """The `members` of a group detail as `group_members` rows.

    A member without a usable user id is skipped and reported through `warn`, so that it does not cost the
    group its other memberships.
    """
    group_id = _string_id(group_id, "group_members", "group_id")
    rows = []
    for member in members:
        try:
            _require_object(member, "group_members")
            user_id = _long_id(member.get("value"), "group_members", "user id (value)")
        except RecordError as error:
            warn(f"group {group_id!r}: member skipped: {error}")
            continue
        rows.append(
            {
                "group_id": group_id,
                "user_id": user_id,
                "username": member.get("username"),
                "display_name": member.get("display"),
                "extra": _add_unknown(member, _MEMBER_FIELDS, None),
            },
        )
    return rows


def map_note(obj: JsonObject, warn: Warn = _no_warning) -> Row:
    """A note (file comment) from `GET /pubapi/v1/notes` as a `notes` row."""
    _require_object(obj, "notes")
    get = obj.get
    row = {
        "id": _string_id(get("id"), "notes"),
        "path": get("file_path"),
        "note_text": get("message"),
        "author": get("username"),
        "author_name": get("formatted_name"),
        "created_date": get("creation_time"),
        "file_group_id": get("group_id"),
        "file_id": get("file_id"),
        "can_delete": get("can_delete"),
    }
    extra = _check_flags(row, None, _NOTE_FLAGS, "notes", warn)
    extra = _check_dates(row, extra, _NOTE_DATES, "notes", warn)
    row["extra"] = _add_unknown(obj, _NOTE_FIELDS, extra)
    return row


def map_bookmark(obj: JsonObject, creator: str, warn: Warn = _no_warning) -> Row:
    """A bookmark from `GET /pubapi/v1/bookmarks` as a `bookmarks` row.

    Bookmarks carry no owner: `creator` is the user whose listing returned it (the token's or the impersonated one).
    """
    _require_object(obj, "bookmarks")
    get = obj.get
    row = {
        "id": _long_id(get("id"), "bookmarks"),
        "path": get("path"),
        "folder_id": get("folder_id"),
        "created_date": get("creation_date"),
        "creator": creator,
    }
    extra = _check_dates(row, None, _BOOKMARK_DATES, "bookmarks", warn)
    row["extra"] = _add_unknown(obj, _BOOKMARK_FIELDS, extra)
    return row


def map_event(obj: JsonObject, warn: Warn = _no_warning) -> Row:
    """An event from `GET /pubapi/v1/events` as an `events` row; `data` is kept whole, as JSON."""
    _require_object(obj, "events")
    get = obj.get
    row = {
        "id": _long_id(get("id"), "events"),
        "timestamp": get("timestamp"),
        "type": get("type"),
        "action": get("action"),
        "action_source": get("action_source"),
        "actor": get("actor"),
        "object_detail": get("object_detail"),
        "data": get("data"),
    }
    extra = _check_dates(row, None, _EVENT_DATES, "events", warn)
    actor = row["actor"]
    if actor is not None:
        try:
            row["actor"] = _long_id(actor, "events", "actor")
        except RecordError:
            extra = _unread(row, extra, "actor", actor, "a user id", "events", "actor", warn)
    row["extra"] = _add_unknown(obj, _EVENT_FIELDS, extra)
    return row


def cap_long_values(table: Table, row: Row, warn: Warn = _no_warning) -> Row:
    """Cuts every text longer than MAX_TEXT_LENGTH, in a column or at the top of `extra`, to that length, in place.

    The record is kept: its original length goes to extra as `truncated_<name>`, with a warning naming the record.
    Key columns are left alone: cutting one could merge two records.
    """
    extra = row.get("extra")
    long_columns = [column for column, value in row.items() if type(value) is str and len(value) > MAX_TEXT_LENGTH]
    long_extras = (
        [name for name, value in extra.items() if type(value) is str and len(value) > MAX_TEXT_LENGTH]
        if type(extra) is dict
        else []
    )
    if not long_columns and not long_extras:
        return row
    keys = table.primary_key
    record = tuple(row.get(column) for column in keys)
    shown = _shown(record[0] if len(record) == 1 else record)
    extra = dict(extra) if type(extra) is dict else {}
    for column in long_columns:
        if column in keys:
            continue
        length = len(row[column])
        row[column] = row[column][:MAX_TEXT_LENGTH]
        extra[f"truncated_{column}"] = length
        warn(
            f"{table.name} record {shown}: {column} holds {length:,} characters; its first {MAX_TEXT_LENGTH:,} are "
            f"kept (the full length is in extra.truncated_{column})"
        )
    for name in long_extras:
        length = len(extra[name])
        extra[name] = extra[name][:MAX_TEXT_LENGTH]
        extra[f"truncated_{name}"] = length
        warn(
            f"{table.name} record {shown}: field {name} holds {length:,} characters; its first {MAX_TEXT_LENGTH:,} are "
            f"kept in extra.{name} (the full length is in extra.truncated_{name})"
        )
    row["extra"] = extra or None
    return row
