"""Small pools of realistic values, made once per seed with Faker and then indexed by hashed bits.

Calling Faker per record would cost tens of microseconds each and make large tenants slow to serve; a few hundred
values per pool, combined through independent hash bits, give millions of distinct-looking records instead.
The locales are chosen so that non-ASCII names, paths and messages show up throughout the tenant.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

# (locale, weight out of 256): mostly English, with enough of the rest that every page has awkward characters.
LOCALES: tuple[tuple[str, int], ...] = (
    ("en_US", 120),
    ("en_GB", 20),
    ("de_DE", 20),
    ("fr_FR", 18),
    ("es_ES", 14),
    ("pl_PL", 14),
    ("sv_SE", 10),
    ("pt_BR", 12),
    ("ja_JP", 10),
    ("zh_CN", 8),
    ("ru_RU", 10),
)
NAMES_PER_LOCALE = 64

DEPARTMENTS = (
    "Finance",
    "Marketing",
    "Engineering",
    "Sales",
    "Legal",
    "Human Resources",
    "Operations",
    "Customer Success",
    "Product",
    "Design",
    "IT",
    "Procurement",
    "Research",
    "Facilities",
    "Compliance",
    "Exécutifs",
)
ROLES = ("Project Manager", "Editor", "Reviewer", "Contributor", "Site Lead", "Auditor")
TOP_FOLDERS = ("/Shared", "/Shared", "/Shared", "/Private")


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters of `text` (accents stripped), for usernames and e-mail addresses."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.lower() if "a" <= ch <= "z")


@dataclass(frozen=True)
class Person:
    """A name as the tenant shows it, plus its ASCII form for logins."""

    given: str
    family: str
    given_slug: str
    family_slug: str


@dataclass(frozen=True)
class Pools:
    """Everything record builders pick from; all tuples so indexing is as cheap as it gets."""

    locale_by_byte: tuple[int, ...]
    people: tuple[tuple[tuple[str, str], ...], ...]
    families: tuple[tuple[tuple[str, str], ...], ...]
    cities: tuple[str, ...]
    words: tuple[str, ...]
    file_names: tuple[str, ...]
    sentences: tuple[str, ...]
    email_domains: tuple[str, ...]


def _locale_table() -> tuple[int, ...]:
    table: list[int] = []
    for index, (_, weight) in enumerate(LOCALES):
        table.extend([index] * weight)
    if len(table) != 256:
        raise AssertionError("locale weights must add up to 256")
    return tuple(table)


def _unique(values: list[str], limit: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))[:limit]


@lru_cache(maxsize=8)
def build_pools(seed: int) -> Pools:
    """Make the pools for `seed` (cached: tests build many tenants from few seeds)."""
    fake = Faker([locale for locale, _ in LOCALES])
    fake.seed_instance(seed)
    givens: list[tuple[tuple[str, str], ...]] = []
    families: list[tuple[tuple[str, str], ...]] = []
    for locale, _ in LOCALES:
        local = fake[locale]
        givens.append(tuple((n, ascii_slug(n)) for n in _unique([local.first_name() for _ in range(160)], 64)))
        families.append(tuple((n, ascii_slug(n)) for n in _unique([local.last_name() for _ in range(160)], 64)))
    english = fake["en_US"]
    cities = _unique([fake[locale].city() for locale, _ in LOCALES for _ in range(12)], 128)
    words = _unique([english.word().capitalize() for _ in range(300)] + list(cities), 256)
    file_names = _unique(
        [english.file_name(category=c) for c in ("office", "text", "image") for _ in range(60)]
        + [f"{fake[loc].word()}.{ext}" for loc, ext in (("de_DE", "docx"), ("ja_JP", "pdf"), ("fr_FR", "xlsx"))],
        256,
    )
    sentences = _unique(
        [english.sentence(nb_words=9) for _ in range(160)]
        + [fake[loc].sentence(nb_words=7) for loc in ("de_DE", "fr_FR", "ja_JP", "ru_RU", "pl_PL") for _ in range(20)],
        256,
    )
    domains = _unique([english.free_email_domain() for _ in range(20)], 4)
    return Pools(
        locale_by_byte=_locale_table(),
        people=tuple(givens),
        families=tuple(families),
        cities=cities,
        words=words,
        file_names=file_names,
        sentences=sentences,
        email_domains=domains,
    )
