"""Egnyte objects to rows: full, minimal and odd objects, for every table."""

import copy

import pytest

from egnyte_async.catalog import all_tables, table_named
from egnyte_async.mapping import (
    RecordError,
    map_bookmark,
    map_group,
    map_group_members,
    map_note,
    map_user,
)

SDK_TYPES = {"STRING", "LONG", "BOOLEAN", "UTC_DATETIME", "JSON"}

FULL_USER = {
    "schemas": ["urn:scim:schemas:core:1.0"],
    "id": 12824215693,
    "userName": "jdoe",
    "externalId": "S-1-5-21-1234",
    "email": "jdoe@acme.com",
    "name": {"formatted": "John Doe", "familyName": "Doe", "givenName": "John"},
    "active": True,
    "locked": False,
    "emailChangePending": False,
    "authType": "sso",
    "userType": "power",
    "role": "Project Manager",
    "idpUserId": "jdoe@idp",
    "userPrincipalName": "jdoe@acme.onmicrosoft.com",
    "expiryDate": "2030-01-31",
    "deleteOnExpiry": True,
    "createdDate": "2016-05-18T17:56:39.975+0000",
    "lastModificationDate": "2017-01-02T03:04:05Z",
    "lastActiveDate": "Tue, 14 Apr 2015 09:25:21 GMT",
}


class Warnings(list):
    """A `warn` callback that remembers what it was told."""

    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def warn():
    return Warnings()


# ---- schema ----


@pytest.mark.parametrize("spec", all_tables(), ids=lambda table: table.name)
def test_schema_is_well_formed(spec):
    assert set(spec.columns.values()) <= SDK_TYPES
    assert set(spec.primary_key) <= set(spec.columns)
    assert spec.columns["extra"] == "JSON"
    assert all(column == column.lower() and " " not in column for column in spec.columns)


def test_schema_tables_and_keys():
    assert {table.name: table.primary_key for table in all_tables()} == {
        "users": ("id",),
        "groups": ("id",),
        "group_members": ("group_id", "user_id"),
        "notes": ("id",),
        "bookmarks": ("id",),
        "events": ("id",),
    }


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("users", lambda: map_user(FULL_USER)),
        ("users", lambda: map_user({"id": 1})),
        ("groups", lambda: map_group({"id": "g"})),
        ("group_members", lambda: map_group_members("g", [{"value": 1}])[0]),
        ("notes", lambda: map_note({"id": "n"})),
        ("bookmarks", lambda: map_bookmark({"id": 1}, "jdoe")),
    ],
)
def test_rows_have_exactly_the_declared_columns(table, row):
    assert list(row()) == list(table_named(table).columns)


# ---- users ----


def test_full_user(warn):
    row = map_user(FULL_USER, warn)
    assert row == {
        "id": 12824215693,
        "username": "jdoe",
        "email": "jdoe@acme.com",
        "first_name": "John",
        "last_name": "Doe",
        "display_name": "John Doe",
        "role": "Project Manager",
        "user_type": "power",
        "auth_type": "sso",
        "active": True,
        "locked": False,
        "external_id": "S-1-5-21-1234",
        "idp_user_id": "jdoe@idp",
        "user_principal_name": "jdoe@acme.onmicrosoft.com",
        "email_change_pending": False,
        "expiry_date": "2030-01-31T00:00:00.000Z",
        "delete_on_expiry": True,
        "created_date": "2016-05-18T17:56:39.975Z",
        "modified_date": "2017-01-02T03:04:05.000Z",
        "last_active_date": "2015-04-14T09:25:21.000Z",
        "extra": None,
    }
    assert warn == []


def test_mapping_does_not_change_the_object():
    original = copy.deepcopy(FULL_USER)
    map_user(FULL_USER)
    assert original == FULL_USER


def test_minimal_user():
    row = map_user({"id": 7})
    assert row["id"] == 7
    assert all(value is None for column, value in row.items() if column != "id")


@pytest.mark.parametrize(("raw", "expected"), [("12824215693", 12824215693), (" 42 ", 42), (3.0, 3), (0, 0)])
def test_user_id_as_string_or_integral_float(raw, expected):
    assert map_user({"id": raw})["id"] == expected


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({}, "users record has no id"),
        ({"id": None}, "users record has no id"),
        ({"id": "abc"}, "users record: id 'abc' is not a whole number"),
        ({"id": "12a"}, "'12a'"),
        ({"id": ""}, "users record: id ''"),
        ({"id": "-5"}, "'-5'"),
        ({"id": "١٢"}, "is not a whole number"),
        ({"id": 1.5}, "1.5"),
        ({"id": True}, "True"),
        ({"id": [1]}, r"\[1\]"),
        ({"id": 2**63}, "fits a LONG"),
        ([1, 2], "users record is a list, not a JSON object"),
        (None, "users record is a NoneType"),
    ],
)
def test_user_without_usable_id(obj, match):
    with pytest.raises(RecordError, match=match):
        map_user(obj)


def test_user_without_name_or_with_partial_name():
    assert map_user({"id": 1, "userName": "x"})["first_name"] is None
    row = map_user({"id": 1, "name": {"givenName": "Ann"}})
    assert (row["first_name"], row["last_name"], row["display_name"], row["extra"]) == ("Ann", None, None, None)


def test_user_name_that_is_not_an_object_is_kept(warn):
    row = map_user({"id": 1, "name": "Ann Lee"}, warn)
    assert row["display_name"] is None
    assert row["extra"] == {"name": "Ann Lee"}
    assert warn == ["users record 1: name 'Ann Lee' is not an object; kept in extra.name"]


def test_unknown_user_fields_go_to_extra():
    obj = {
        **FULL_USER,
        "meta": {"lastModified": "x"},
        "department": "R&D",
        "name": {**FULL_USER["name"], "middleName": "Q"},
    }
    row = map_user(obj)
    assert row["extra"] == {"meta": {"lastModified": "x"}, "department": "R&D", "name": {"middleName": "Q"}}
    assert row["first_name"] == "John"


def test_schemas_is_not_extra():
    assert map_user({"id": 1, "schemas": ["urn:scim:schemas:core:1.0"]})["extra"] is None


def test_bad_user_dates_keep_the_record(warn):
    obj = {**FULL_USER, "createdDate": "sometime", "lastActiveDate": {"when": "now"}}
    row = map_user(obj, warn)
    assert row["created_date"] is None
    assert row["last_active_date"] is None
    assert row["modified_date"] == "2017-01-02T03:04:05.000Z"
    assert row["extra"] == {"unparsed_created_date": "sometime", "unparsed_last_active_date": {"when": "now"}}
    assert warn == [
        "users record 12824215693: createdDate 'sometime' is not a date; kept in extra.unparsed_created_date",
        "users record 12824215693: lastActiveDate {'when': 'now'} is not a date;"
        " kept in extra.unparsed_last_active_date",
    ]


def test_empty_dates_are_null_without_warning(warn):
    row = map_user({"id": 1, "expiryDate": "", "createdDate": None}, warn)
    assert (row["expiry_date"], row["created_date"], row["extra"]) == (None, None, None)
    assert warn == []


def test_epoch_dates_are_read():
    assert map_user({"id": 1, "createdDate": 1463594199975})["created_date"] == "2016-05-18T17:56:39.975Z"


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("False", False), (1, True), (0, False), (None, None)])
def test_boolean_variants(raw, expected, warn):
    assert map_user({"id": 1, "active": raw}, warn)["active"] is expected
    assert warn == []


@pytest.mark.parametrize("raw", ["maybe", 2, [], {"a": 1}, 1.5])
def test_unreadable_booleans_keep_the_record(raw, warn):
    row = map_user({"id": 1, "locked": raw}, warn)
    assert row["locked"] is None
    assert row["extra"] == {"unparsed_locked": raw}
    assert warn == [f"users record 1: locked {raw!r} is not a boolean; kept in extra.unparsed_locked"]


def test_long_strings_are_kept_whole_and_warnings_stay_short(warn):
    long_text = "x" * 100_000
    row = map_user({"id": 1, "email": long_text, "createdDate": long_text}, warn)
    assert row["email"] == long_text
    assert row["extra"]["unparsed_created_date"] == long_text
    assert len(warn[0]) < 400
    assert "(100002 characters)" in warn[0]


def test_unparsed_value_and_unknown_field_share_extra():
    row = map_user({"id": 1, "createdDate": "bad", "newField": 5})
    assert row["extra"] == {"unparsed_created_date": "bad", "newField": 5}


# ---- groups ----

GROUP_DETAIL = {
    "schemas": ["urn:scim:schemas:core:1.0"],
    "id": "b2b6e6b8-1d7d-4a3b-9a3a-6cf1c3f0f9a1",
    "displayName": "Finance",
    "members": [
        {"username": "jdoe", "value": 9967960068, "display": "John Doe"},
        {"username": "asmith", "value": "9967960069", "display": "Ann Smith"},
    ],
}


def test_group_from_listing_has_unknown_member_count():
    row = map_group({"id": "g-1", "displayName": "Finance"})
    assert row == {"id": "g-1", "display_name": "Finance", "member_count": None, "extra": None}


def test_group_with_members():
    assert map_group({"id": "g-1", "displayName": "Finance"}, GROUP_DETAIL["members"])["member_count"] == 2
    assert map_group({"id": "g-1"}, [])["member_count"] == 0


def test_group_detail_counts_its_own_members():
    row = map_group(GROUP_DETAIL)
    assert row["member_count"] == 2
    assert row["extra"] is None


def test_group_unknown_fields_go_to_extra():
    assert map_group({"id": "g", "meta": {"x": 1}})["extra"] == {"meta": {"x": 1}}


def test_group_numeric_id_becomes_text():
    assert map_group({"id": 55})["id"] == "55"


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"displayName": "x"}, "groups record has no id"),
        ({"id": ""}, "groups record: id ''"),
        ({"id": "  "}, "is not a usable identifier"),
        ({"id": ["g"]}, "is not a usable identifier"),
        ({"id": True}, "is not a usable identifier"),
        ("g-1", "groups record is a str"),
    ],
)
def test_group_without_usable_id(obj, match):
    with pytest.raises(RecordError, match=match):
        map_group(obj)


def test_group_members():
    rows = map_group_members(GROUP_DETAIL["id"], GROUP_DETAIL["members"])
    assert rows == [
        {
            "group_id": GROUP_DETAIL["id"],
            "user_id": 9967960068,
            "username": "jdoe",
            "display_name": "John Doe",
            "extra": None,
        },
        {
            "group_id": GROUP_DETAIL["id"],
            "user_id": 9967960069,
            "username": "asmith",
            "display_name": "Ann Smith",
            "extra": None,
        },
    ]


def test_group_members_empty():
    assert map_group_members("g", []) == []


def test_group_member_extra_fields():
    rows = map_group_members("g", [{"value": 1, "$ref": "https://x/users/1", "type": "User"}])
    assert rows[0]["extra"] == {"$ref": "https://x/users/1", "type": "User"}
    assert rows[0]["username"] is None


def test_bad_members_are_skipped_with_a_warning(warn):
    members = [{"value": 1}, {"username": "ghost"}, {"value": "abc"}, "oops", {"value": 2}]
    rows = map_group_members("g", members, warn)
    assert [row["user_id"] for row in rows] == [1, 2]
    assert warn == [
        "group 'g': member skipped: group_members record has no user id (value)",
        "group 'g': member skipped: group_members record: user id (value) 'abc' is not a whole number that fits a LONG",
        "group 'g': member skipped: group_members record is a str, not a JSON object: 'oops'",
    ]


def test_group_members_need_a_group_id():
    with pytest.raises(RecordError, match="group_members record has no group_id"):
        map_group_members(None, [{"value": 1}])


# ---- notes ----

FULL_NOTE = {
    "id": "a7a5a2b5-9e1f-4a0e-8b1b-2f1d2f3c4d5e",
    "file_path": "/Shared/Finance/Q1.xlsx",
    "message": "Please review",
    "username": "jdoe",
    "formatted_name": "John Doe",
    "creation_time": "2016-05-18T17:56:39.975+0000",
    "group_id": "c0ffee00-0000-4000-8000-000000000001",
    "file_id": "f1le0000-0000-4000-8000-000000000002",
    "can_delete": True,
}


def test_full_note(warn):
    assert map_note(FULL_NOTE, warn) == {
        "id": "a7a5a2b5-9e1f-4a0e-8b1b-2f1d2f3c4d5e",
        "path": "/Shared/Finance/Q1.xlsx",
        "note_text": "Please review",
        "author": "jdoe",
        "author_name": "John Doe",
        "created_date": "2016-05-18T17:56:39.975Z",
        "file_group_id": "c0ffee00-0000-4000-8000-000000000001",
        "file_id": "f1le0000-0000-4000-8000-000000000002",
        "can_delete": True,
        "extra": None,
    }
    assert warn == []


def test_minimal_note():
    row = map_note({"id": "n-1"})
    assert row["id"] == "n-1"
    assert all(value is None for column, value in row.items() if column != "id")


def test_note_odd_fields(warn):
    row = map_note({**FULL_NOTE, "creation_time": "18/05/2016", "can_delete": "yes", "likes": 3}, warn)
    assert row["created_date"] is None
    assert row["can_delete"] is None
    assert row["extra"] == {"unparsed_can_delete": "yes", "unparsed_created_date": "18/05/2016", "likes": 3}
    assert len(warn) == 2
    assert all(message.startswith(f"notes record {FULL_NOTE['id']!r}: ") for message in warn)


@pytest.mark.parametrize(("obj", "match"), [({"message": "hi"}, "notes record has no id"), ({"id": {}}, "notes")])
def test_note_without_usable_id(obj, match):
    with pytest.raises(RecordError, match=match):
        map_note(obj)


# ---- bookmarks ----


def test_full_bookmark(warn):
    obj = {"id": 31, "path": "/Shared/Finance", "folder_id": "d0d0", "creation_date": "2016-06-02T11:36:01.000+0000"}
    assert map_bookmark(obj, "jdoe", warn) == {
        "id": 31,
        "path": "/Shared/Finance",
        "folder_id": "d0d0",
        "created_date": "2016-06-02T11:36:01.000Z",
        "creator": "jdoe",
        "extra": None,
    }
    assert warn == []


def test_minimal_and_odd_bookmark(warn):
    assert map_bookmark({"id": "31"}, "jdoe")["id"] == 31
    row = map_bookmark({"id": 31, "creation_date": "soon", "owner": "x"}, "jdoe", warn)
    assert row["created_date"] is None
    assert row["extra"] == {"unparsed_created_date": "soon", "owner": "x"}
    assert warn == ["bookmarks record 31: creation_date 'soon' is not a date; kept in extra.unparsed_created_date"]


@pytest.mark.parametrize(("obj", "match"), [({"path": "/x"}, "bookmarks record has no id"), ({"id": "b-1"}, "'b-1'")])
def test_bookmark_without_usable_id(obj, match):
    with pytest.raises(RecordError, match=match):
        map_bookmark(obj, "jdoe")
