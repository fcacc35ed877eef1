"""Users: ids, names and attributes derived from each user's ordinal, which is its numeric Egnyte id.

Serving a page must stay far below a millisecond of CPU, so a user record is a copy of one of 1,024 pre-built
attribute templates (flags, types, roles: the combinations that matter) with the per-user values filled in: the
name from the pools, the username and e-mail built from the id, and dates from pre-rendered tables.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, NamedTuple

from .config import SandboxConfig
from .dates import MS_PER_DAY, DateRenderer
from .mixing import GOLDEN, MASK64, mix64, salt
from .ordering import Entry, OrderedIndex
from .pools import ROLES, Pools

USER_ID_BASE = 12_824_000_000
USER_ID_STRIDE = 1024
HISTORY_DAYS = 8 * 365
TEMPLATES = 1024
_TRAILING_DIGITS = re.compile(r"(\d+)$")
_HEX_TAIL = re.compile(r"([0-9a-f]{12})$")


class Identity(NamedTuple):
    """What other resources need to know about a user (note authors, group members, token owners)."""

    ordinal: int
    username: str
    given: str
    family: str | None
    is_admin: bool

    @property
    def formatted(self) -> str:
        return f"{self.given} {self.family}" if self.family else self.given


class _Template(NamedTuple):
    fields: dict[str, Any]
    user_type: str
    auth_type: str
    expiring: bool
    never_active: bool


@lru_cache(maxsize=16)
def _templates(seed: int, optional_dates: bool) -> tuple[_Template, ...]:
    """The attribute combinations users are drawn from; keys are in the order Egnyte serves them."""
    base = salt(seed, "user-templates")
    out = []
    for k in range(TEMPLATES):
        h = mix64(k ^ base)
        type_bits, auth_bits = h & 127, (h >> 7) & 127
        user_type = "admin" if type_bits < 4 else "power" if type_bits < 40 else "standard"
        auth_type = "egnyte" if auth_bits < 100 else "sso" if auth_bits < 116 else "ad"
        expiring = (h >> 14) & 15 == 0
        fields: dict[str, Any] = dict.fromkeys(("id", "userName", "externalId", "email", "name"))
        fields.update(
            active=(h >> 18) & 15 != 0,
            locked=(h >> 22) & 31 == 0,
            emailChangePending=(h >> 27) & 7 == 0,
            authType=auth_type,
            userType=user_type,
        )
        if user_type == "power":
            fields["role"] = ROLES[(h >> 30) % len(ROLES)]
        if auth_type == "sso":
            fields["idpUserId"] = None
        elif auth_type == "ad":
            fields["userPrincipalName"] = None
        fields["expiryDate"] = None
        fields["deleteOnExpiry"] = expiring and bool((h >> 40) & 1)
        never_active = (h >> 41) & 31 == 0
        if optional_dates:
            fields.update(createdDate=None, lastModificationDate=None, lastActiveDate=None)
        out.append(_Template(fields, user_type, auth_type, expiring, never_active))
    return tuple(out)


@lru_cache(maxsize=16)
def _external_prefixes(seed: int) -> tuple[str, ...]:
    base = salt(seed, "external-ids")
    out = []
    for k in range(256):
        h = mix64(k ^ base)
        out.append(f"{h >> 32:08x}-{(h >> 16) & 0xFFFF:04x}-4{h & 0xFFF:03x}-{'89ab'[h >> 62]}{(h >> 50) & 0xFFF:03x}-")
    return tuple(out)


class UserStore:
    """The tenant's users, in id order, generated on demand."""

    def __init__(self, config: SandboxConfig, pools: Pools, anchor_ms: int, render: DateRenderer) -> None:
        self.config = config
        self.pools = pools
        self.size = config.users
        self.anchor_ms = anchor_ms
        self.anchor_day = anchor_ms // MS_PER_DAY
        self.render = render
        self._salt = salt(config.seed, "users")
        self._attr_salt = salt(config.seed, "user-attributes")
        self._string_ids = config.user_id_type == "string"
        self._optional_dates = config.optional_user_dates
        self._unicode_usernames = config.usernames != "ascii"
        self._unicode_emails = config.usernames == "unicode_email"
        self._templates = _templates(config.seed, config.optional_user_dates)
        self._prefixes = _external_prefixes(config.seed)
        external = pools.email_domains
        self._domains = (config.email_domain,) * 13 + tuple(external[i % len(external)] for i in range(3))
        self._id_span = (self.size + 64) * USER_ID_STRIDE
        # Dates come from the renderer's tables: days indexed from its first day, times of day from its pool.
        # A user's creation day grows with the id, as on a real tenant, over the eight years before the anchor.
        self._days, self._tods = render.day_table, render.tod_table
        self._today = self.anchor_day - render.first_day
        self.index = OrderedIndex(self.size, self.ordinal, floor=USER_ID_BASE, ceiling=USER_ID_BASE + self._id_span)
        self.admin_ordinal = self.ordinal(0)
        #: Users active since the tenant was generated: their lastActiveDate, in epoch milliseconds, by ordinal.
        self._active_at: dict[int, int] = {}
        #: Users renamed since the tenant was generated: (given name, family name or None, when) by ordinal.
        self._renamed: dict[int, tuple[str, str | None, int]] = {}

    def rename(self, ordinal: int, given: str, family: str | None, at_ms: int) -> None:
        """The user's name is now `given` `family`, changed at `at_ms` (their lastModificationDate says so)."""
        self._renamed[ordinal] = (given, family, at_ms)

    def touch(self, ordinal: int, at_ms: int) -> None:
        """The user was active at `at_ms`: their lastActiveDate says so from now on (it never moves back)."""
        self._active_at[ordinal] = max(at_ms, self._active_at.get(ordinal, at_ms))

    def forget(self, ordinal: int) -> None:
        """The user is gone: an id given again later starts without their activity."""
        self._active_at.pop(ordinal, None)
        self._renamed.pop(ordinal, None)

    def ordinal(self, i: int) -> int:
        """Id of base user i: increasing with i, spaced so that added users fit in between."""
        jitter = (((i ^ self._salt) * GOLDEN) & MASK64) >> 55
        return USER_ID_BASE + (i + 1) * USER_ID_STRIDE + jitter

    def _names(self, h: int, ordinal: int) -> tuple[str, str, str, str | None]:
        """(userName, the e-mail's local part, given name, family name or None)."""
        pools = self.pools
        locale = pools.locale_by_byte[(h >> 10) & 255]
        givens, families = pools.people[locale], pools.families[locale]
        given, given_slug = givens[(h >> 18) % len(givens)]
        family, family_slug = families[(h >> 26) % len(families)]
        if ordinal == self.admin_ordinal:
            username = login = self.config.admin_username
        else:
            number = ordinal - USER_ID_BASE
            login = f"{given_slug[:1]}{family_slug}{number}" if family_slug else f"user{number}"
            username = login
            if self._unicode_usernames:
                # The name's own letters, accents and scripts included; the e-mail keeps the ASCII login.
                family_letters = letters(family)
                username = f"{letters(given)[:1]}{family_letters}{number}" if family_letters else f"user{number}"
                if self._unicode_emails:
                    login = username
        return username, login, given, family if (h >> 34) & 63 else None

    def _template(self, h: int, ordinal: int) -> _Template:
        if ordinal == self.admin_ordinal:
            return _admin_template(self.config.seed, self._optional_dates)
        return self._templates[h & (TEMPLATES - 1)]

    def identity(self, ordinal: int) -> Identity:
        h = mix64(ordinal ^ self._attr_salt)
        username, _, given, family = self._names(h, ordinal)
        if self._renamed and ordinal in self._renamed:
            given, family, _ = self._renamed[ordinal]
        return Identity(ordinal, username, given, family, self._template(h, ordinal).user_type == "admin")

    def record(self, ordinal: int) -> dict[str, Any]:
        """The user exactly as `GET /pubapi/v2/users` serves it."""
        user = self._user(ordinal, self._string_ids, self._days, self._tods)
        if self._active_at and self._optional_dates and ordinal in self._active_at:
            user["lastActiveDate"] = self.render.exact(self._active_at[ordinal])
        if self._renamed and self._optional_dates and ordinal in self._renamed:
            user["lastModificationDate"] = self.render.exact(self._renamed[ordinal][2])
        return user

    def canonical(self, ordinal: int) -> dict[str, Any]:
        """The user as the tenant holds it, before rendering: the same fields as `record`, but the id is always a
        number (whatever `user_id_type` says) and every date is an instant in epoch milliseconds (whatever
        `date_format` says; None where the user has none)."""
        user = self._user(ordinal, False, self.render.day_ms_table, self.render.tod_ms_table)
        if self._active_at and self._optional_dates and ordinal in self._active_at:
            user["lastActiveDate"] = self._active_at[ordinal]
        if self._renamed and self._optional_dates and ordinal in self._renamed:
            user["lastModificationDate"] = self._renamed[ordinal][2]
        return user

    def _user(self, ordinal: int, string_ids: bool, days: tuple, tods: tuple) -> dict[str, Any]:
        """The user with its dates taken from `days` and `tods` (the hot path: kept flat on purpose)."""
        h = mix64(ordinal ^ self._attr_salt)
        h2 = (h * GOLDEN) & MASK64
        template = self._template(h, ordinal)
        username, login, given, family = self._names(h, ordinal)
        renamed = self._renamed.get(ordinal) if self._renamed else None
        if renamed is not None:
            given, family, _ = renamed
        local = ordinal - USER_ID_BASE
        user = template.fields.copy()
        user["id"] = str(ordinal) if string_ids else ordinal
        user["userName"] = username
        user["externalId"] = self._prefixes[h2 >> 56] + f"{local:012x}"
        user["email"] = f"{login}@{self._domains[(h2 >> 52) & 15]}"
        if family is None:
            user["name"] = {"formatted": given, "givenName": given}
        else:
            user["name"] = {"formatted": f"{given} {family}", "givenName": given, "familyName": family}
        auth_type = template.auth_type
        if auth_type == "sso":
            user["idpUserId"] = f"{username}@idp.{self.config.email_domain}"
        elif auth_type == "ad":
            user["userPrincipalName"] = f"{username}@corp.{self.config.email_domain}"
        today = self._today
        if template.expiring:
            user["expiryDate"] = days[today - 180 + (h2 >> 8) % 365] + tods[(h2 >> 20) & 4095]
        if self._optional_dates:
            created = today - HISTORY_DAYS + local * HISTORY_DAYS // self._id_span
            age = today - created + 1
            created_tod = (h >> 40) & 4095
            user["createdDate"] = days[created] + tods[created_tod]
            # Later events on the creation day reuse its time of day, so they never precede the creation.
            later = (h2 >> 32) % age
            user["lastModificationDate"] = days[created + later] + tods[h2 & 4095 if later else created_tod]
            if not template.never_active:
                later = (h2 >> 12) % age
                user["lastActiveDate"] = days[created + later] + tods[(h2 >> 44) & 4095 if later else created_tod]
        return user

    def page(self, start: int, count: int) -> list[dict[str, Any]]:
        record = self.record
        return [record(ordinal) for ordinal, _ in self.index.slice(start, start + count)]

    def find(self, username: str) -> Entry | None:
        """The current user with this username, if any (usernames end with the id's offset, so no scan)."""
        if username == self.config.admin_username:
            return self.index.base_entry(0)
        entry = self._by_number(username)
        if entry is None or self.identity(entry[0]).username != username:
            return None
        return entry

    def _by_number(self, text: str) -> Entry | None:
        """The current user whose id's offset ends `text` (usernames and e-mail logins end with it)."""
        match = _TRAILING_DIGITS.search(text)
        return self.index.contains(USER_ID_BASE + int(match.group(1))) if match else None

    def is_active(self, entry: Entry) -> bool:
        return bool(self.record(entry[0])["active"])

    def find_by(self, attribute: str, value: str) -> Entry | None:
        """Lookup for the SCIM `filter` forms Egnyte supports: userName, email and externalId `eq`."""
        if attribute == "username":
            return self.find(value)
        if attribute == "email":
            login = value.partition("@")[0]
            entry = self.index.base_entry(0) if login == self.config.admin_username else self._by_number(login)
            return entry if entry and self.record(entry[0])["email"] == value else None
        if attribute == "externalid":
            match = _HEX_TAIL.search(value.lower())
            entry = self.index.contains(USER_ID_BASE + int(match.group(1), 16)) if match else None
            return entry if entry and self.record(entry[0])["externalId"] == value else None
        raise ValueError(attribute)


def letters(text: str) -> str:
    """The lower-case letters of `text`, in any script, accents kept (a userName in the `unicode` variants)."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text.lower()) if ch.isalpha())


@lru_cache(maxsize=16)
def _admin_template(seed: int, optional_dates: bool) -> _Template:
    """The admin behind the static token: active, unlocked, never expiring, a plain Egnyte login."""
    fields = dict(_templates(seed, optional_dates)[0].fields)
    fields.pop("role", None)
    fields.pop("idpUserId", None)
    fields.pop("userPrincipalName", None)
    fields.update(active=True, locked=False, emailChangePending=False, authType="egnyte", userType="admin")
    fields["deleteOnExpiry"] = False
    return _Template(fields, "admin", "egnyte", False, False)
