"""One test per switch for the UNSURE points of the API, so every variant is known to be served."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import pytest

from .helpers import open_sandbox

NOTES = "/pubapi/v1/notes"


@pytest.mark.parametrize(("mode", "expected"), [("returned", 30), ("requested", 100)])
async def test_items_per_page(mode: str, expected: int) -> None:
    async with open_sandbox(users=30, items_per_page=mode) as sbx:
        body = (await sbx.client.get("/pubapi/v2/users", params={"count": 100})).json()
        assert body["itemsPerPage"] == expected and len(body["resources"]) == 30


async def test_items_per_page_requested_echoes_an_over_the_maximum_count() -> None:
    async with open_sandbox(users=300, items_per_page="requested") as sbx:
        body = (await sbx.client.get("/pubapi/v2/users", params={"count": 500})).json()
        assert body["itemsPerPage"] == 500 and len(body["resources"]) == 100


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/pubapi/v2/users", {}),
        ("/pubapi/v2/groups", {}),
        (NOTES, {}),
        ("/pubapi/v1/bookmarks", {}),
    ],
)
async def test_count_over_the_maximum_is_clamped_or_rejected(path: str, params: dict[str, str]) -> None:
    async with open_sandbox(users=150, groups=150, notes=150, bookmarks_per_user=100) as sbx:
        clamped = await sbx.client.get(path, params={**params, "count": 101})
        assert clamped.status_code == 200
        body = clamped.json()
        items = body.get("resources", body.get("notes", body.get("bookmarks")))
        assert len(items) == 100
    async with open_sandbox(over_max_count="reject") as sbx:
        rejected = await sbx.client.get(path, params={**params, "count": 101})
        assert rejected.status_code == 400
        assert (await sbx.client.get(path, params={**params, "count": 100})).status_code == 200


async def test_maximums_are_configurable() -> None:
    async with open_sandbox(scim_max_count=10, notes_max_count=5, over_max_count="clamp") as sbx:
        assert len((await sbx.client.get("/pubapi/v2/users")).json()["resources"]) == 10
        assert len((await sbx.client.get(NOTES)).json()["notes"]) == 5


async def test_user_ids_as_strings_everywhere() -> None:
    async with open_sandbox(user_id_type="string") as sbx:
        users = (await sbx.client.get("/pubapi/v2/users")).json()["resources"]
        assert all(isinstance(u["id"], str) and u["id"].isdigit() for u in users)
        assert isinstance((await sbx.client.get("/pubapi/v1/userinfo")).json()["id"], str)
        group = next(g for g in sbx.state.tenant.iter_groups() if sbx.state.tenant.group_detail(g["id"])["members"])
        members = (await sbx.client.get(f"/pubapi/v2/groups/{group['id']}")).json()["members"]
        assert all(isinstance(m["value"], str) for m in members)
    async with open_sandbox() as sbx:
        assert all(isinstance(u["id"], int) for u in (await sbx.client.get("/pubapi/v2/users")).json()["resources"])


DATE_PATTERNS = {
    "egnyte": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$",
    "z": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
    "offset": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$",
    "date": r"^\d{4}-\d\d-\d\d$",
    "rfc1123": r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$",
}


@pytest.mark.parametrize("fmt", [*DATE_PATTERNS, "epoch_ms"])
async def test_date_formats_in_every_body(fmt: str) -> None:
    async with open_sandbox(date_format=fmt, users=200) as sbx:
        users = (await sbx.client.get("/pubapi/v2/users")).json()["resources"]
        notes = (await sbx.client.get(NOTES)).json()["notes"]
        marks = []
        for user in (u for u in users if u["active"]):  # a deactivated user cannot be acted as
            acting = {"X-Egnyte-Act-As": user["userName"]}
            marks += (await sbx.client.get("/pubapi/v1/bookmarks", headers=acting)).json()["bookmarks"]
            if len(marks) > 5:
                break
        values = [u["createdDate"] for u in users] + [u["expiryDate"] for u in users if u["expiryDate"]]
        values += [n["creation_time"] for n in notes] + [b["creation_date"] for b in marks]
        assert values
        for value in values:
            if fmt == "epoch_ms":
                assert isinstance(value, int) and 1_500_000_000_000 < value < 1_900_000_000_000
            else:
                assert re.match(DATE_PATTERNS[fmt], value), value
        if fmt == "rfc1123":
            parsedate_to_datetime(values[0])  # the weekday matches the date


async def test_the_same_instant_in_every_format() -> None:
    rendered = {}
    for fmt in [*DATE_PATTERNS, "epoch_ms"]:
        async with open_sandbox(date_format=fmt) as sbx:
            rendered[fmt] = (await sbx.client.get(NOTES, params={"count": 1})).json()["notes"][0]["creation_time"]
    ms = rendered["epoch_ms"]
    assert rendered["egnyte"].replace("+0000", "Z") == rendered["z"]
    assert rendered["offset"].replace("+00:00", "Z") == rendered["z"]
    assert rendered["date"] == rendered["z"][:10]
    assert int(parsedate_to_datetime(rendered["rfc1123"]).timestamp()) == ms // 1000


async def test_notes_time_filter_iso_accepts_any_iso_form() -> None:
    async with open_sandbox(notes=300) as sbx:
        notes = list(sbx.state.tenant.iter_notes())
        start = notes[200]["creation_time"]  # 2026-...T..+0000
        for value in (start, start.replace("+0000", "Z"), start.replace("+0000", "+00:00")):
            body = (await sbx.client.get(NOTES, params={"start_time": value})).json()
            assert body["total_results"] == 100 and body["notes"][0] == notes[200]
        day = (await sbx.client.get(NOTES, params={"start_time": start[:10]})).json()
        assert day["total_results"] >= 100
        assert (await sbx.client.get(NOTES, params={"start_time": "yesterday"})).status_code == 400


async def test_notes_time_filter_date_only() -> None:
    async with open_sandbox(notes=300, notes_time_filter="date") as sbx:
        notes = list(sbx.state.tenant.iter_notes())
        day = notes[200]["creation_time"][:10]
        body = (await sbx.client.get(NOTES, params={"start_time": day, "count": 100})).json()
        assert body["notes"][0]["creation_time"] >= day
        refused = await sbx.client.get(NOTES, params={"start_time": notes[200]["creation_time"]})
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "400"


async def test_notes_time_filter_ignored() -> None:
    async with open_sandbox(notes=120, notes_time_filter="ignore") as sbx:
        body = (await sbx.client.get(NOTES, params={"start_time": "2030-01-01", "end_time": "not even a date"})).json()
        assert body["total_results"] == 120


@pytest.mark.parametrize(("bounds", "expected"), [("inclusive", 11), ("exclusive", 9)])
async def test_notes_bounds(bounds: str, expected: int) -> None:
    async with open_sandbox(notes=100, notes_bounds=bounds) as sbx:
        notes = list(sbx.state.tenant.iter_notes())
        params = {"start_time": notes[40]["creation_time"], "end_time": notes[50]["creation_time"]}
        assert (await sbx.client.get(NOTES, params=params)).json()["total_results"] == expected


async def test_notes_order_descending_pages_from_the_newest() -> None:
    async with open_sandbox(notes=150, notes_order="desc") as sbx:
        notes = list(sbx.state.tenant.iter_notes())
        first = (await sbx.client.get(NOTES, params={"count": 100})).json()["notes"]
        second = (await sbx.client.get(NOTES, params={"offset": 100, "count": 100})).json()["notes"]
        assert first + second == notes[::-1]
        windowed = (await sbx.client.get(NOTES, params={"end_time": notes[9]["creation_time"]})).json()
        assert windowed["notes"] == notes[9::-1]


async def test_notes_envelope_switches_and_file_id() -> None:
    async with open_sandbox(notes_total=False, notes_count_key=False, notes_file_id=True) as sbx:
        body = (await sbx.client.get(NOTES, params={"count": 3})).json()
        assert list(body) == ["offset", "notes"]
        assert all(re.match(r"^[0-9a-f-]{36}$", n["file_id"]) for n in body["notes"])


async def test_long_note_messages_have_exactly_the_length_asked_for() -> None:
    async with open_sandbox(note_message_chars=300_000, notes=3) as sbx:
        body = (await sbx.client.get(NOTES, params={"count": 3})).json()
        assert [len(note["message"]) for note in body["notes"]] == [300_000] * 3
        assert len({note["message"] for note in body["notes"]}) > 1  # still each note's own text


async def test_bookmarks_total_and_offset_base() -> None:
    async with open_sandbox(bookmarks_total=True, bookmarks_offset_base=1, bookmarks_per_user=5) as sbx:
        marks = sbx.state.tenant.bookmarks_of("admin")
        body = (await sbx.client.get("/pubapi/v1/bookmarks", params={"offset": 1, "count": 2})).json()
        assert body == {"offset": 1, "count": len(marks[:2]), "total_results": len(marks), "bookmarks": marks[:2]}
        assert (await sbx.client.get("/pubapi/v1/bookmarks", params={"offset": 0})).status_code == 400


async def test_scim_schemas_optional_user_dates_and_userinfo_email_off() -> None:
    async with open_sandbox(scim_schemas=False, optional_user_dates=False, userinfo_email=False) as sbx:
        body = (await sbx.client.get("/pubapi/v2/users")).json()
        assert "schemas" not in body
        assert not any({"createdDate", "lastModificationDate", "lastActiveDate"} & set(u) for u in body["resources"])
        group = (await sbx.client.get("/pubapi/v2/groups")).json()["resources"][0]
        assert "schemas" not in (await sbx.client.get(f"/pubapi/v2/groups/{group['id']}")).json()
        assert "email" not in (await sbx.client.get("/pubapi/v1/userinfo")).json()


@pytest.mark.parametrize("style", ["errors", "inputErrors", "message", "text", "html"])
async def test_v1_error_styles(style: str) -> None:
    async with open_sandbox(v1_error_style=style) as sbx:
        response = await sbx.client.get(NOTES, params={"offset": -1})
        assert response.status_code == 400
        if style in ("errors", "inputErrors", "message"):
            assert style in response.json()
        elif style == "text":
            assert response.headers["content-type"].startswith("text/plain") and "offset" in response.text
        else:
            assert response.text.startswith("<h1>")
