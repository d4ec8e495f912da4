"""Which locale and time zone a customer's message is written for, and which template variant fits it.

A profile's `locale` is a language tag such as `fr-CA`, `fr_CA` or `pt-BR`. It is
normalised to Babel's form (`fr_CA`); a tag Babel does not know falls back to the
journey's default (`en`). Variant files are named after the normalised tag:
`templates/cart_reminder.fr_CA.html`, `templates/cart_reminder.fr.html`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

DEFAULT_LOCALE = "en"

LOCALE_TAG = re.compile(r"[a-z]{2,3}(?:_[A-Z][a-z]{3})?(?:_(?:[A-Z]{2}|[0-9]{3}))?")
"""A tag as it may appear in a variant file name (after `-` → `_`): `fr`, `fr_CA`, `zh_Hant_TW`, `es_419`."""


@dataclass(frozen=True)
class Locality:
    """The locale and time zone one message is rendered for; the locale-aware filters read it."""

    locale: Locale
    zone: ZoneInfo

    @property
    def tag(self) -> str:
        """The normalised tag, e.g. `fr_CA`."""
        return str(self.locale)


def parse_locale(tag: str | None, default: str = DEFAULT_LOCALE) -> Locale:
    """The Babel locale for a language tag (`-` or `_` separated); `default` (then `en`) when it is unknown."""
    # A tag that is not text (a profile can hold any JSON) counts as none, and keeps the cache's keys hashable.
    return _parse_locale(tag if isinstance(tag, str) else None, default if isinstance(default, str) else None)


@lru_cache(maxsize=512)
def _parse_locale(tag: str | None, default: str | None) -> Locale:
    # Cached: Babel parses the tag and looks for the locale's data file on disk every time, on every
    # message otherwise; a Locale is only ever read. Bounded, because tags come from profiles.
    for candidate in (tag, default, DEFAULT_LOCALE):
        if not candidate or not isinstance(candidate, str):
            continue
        try:
            return Locale.parse(candidate.strip().replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


def fallback_chain(tag: str) -> list[str]:
    """Tags to try for a locale, most specific first: `zh_Hant_TW` → `zh_Hant_TW`, `zh_Hant`, `zh`."""
    parts = tag.split("_")
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]


def pick_variant(base: str | None, variants: Mapping[str, str], tag: str) -> str | None:
    """The body for a locale: the most specific variant that exists, else the base template."""
    for candidate in fallback_chain(tag):
        if candidate in variants:
            return variants[candidate]
    return base


def variant_tag(template: str, candidate: str) -> str | None:
    """The locale tag of `candidate` if it is a variant file of `template` (same folder, stem and suffix), else None."""
    base, other = PurePosixPath(template), PurePosixPath(candidate)
    if other.parent != base.parent or other.suffix != base.suffix:
        return None
    prefix = f"{base.stem}."
    if not other.stem.startswith(prefix):
        return None
    return normalize_tag(other.stem[len(prefix) :])


def normalize_tag(tag: str) -> str | None:
    """Babel's form of a language tag (`fr-CA` → `fr_CA`, `zh_TW` → `zh_Hant_TW`), or None when it is not one."""
    tag = tag.replace("-", "_")
    if not LOCALE_TAG.fullmatch(tag):
        return None
    try:
        return str(Locale.parse(tag))
    except (UnknownLocaleError, ValueError):
        return None
