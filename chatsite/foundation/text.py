"""What user text may contain: one set of rules for every text field, on every database.

PostgreSQL refuses NUL in text, SQLite stores it: a check of our own makes both answer the
same ``bad_request`` before anything is written. Names people choose (rooms) must not be
able to pose as another by invisible or direction-changing characters, and are compared
the way a reader would see them (NFKC, case folded).
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext

from chatsite.foundation.errors import BadRequest

# C0 controls but tab and newline; DEL and the C1 controls with them.
_CONTROLS = frozenset(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))) - {"\t", "\n"}

# Characters that show nothing (or almost nothing) on their own: a body of only these is
# as empty as one of spaces. Format characters (Cf: zero-width, joiners, BOM, bidi marks)
# are all invisible; these others are letters or symbols that render blank.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


def text_check(value: str, *, field: str) -> str:
    """``value`` if it has no control character other than tab and newline, else
    ``BadRequest`` naming ``field`` (the same answer on SQLite and PostgreSQL)."""
    if not _CONTROLS.isdisjoint(value):
        raise BadRequest(
            gettext("%(field)s must not contain control characters.") % {"field": field}
        )
    return value


def is_blank(value: str) -> bool:
    """True if ``value`` shows nothing: only whitespace and invisible characters."""
    return all(
        ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) == "Cf" for ch in value
    )


def name_check(value: str, *, field: str) -> str:
    """A name (a room's): no control, format (zero-width, bidi override, BOM …), private-use
    or unassigned character, so what is shown is what is there."""
    for ch in value:
        if unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}:
            raise BadRequest(
                gettext(
                    "%(field)s must not contain invisible, control or direction-changing "
                    "characters (U+%(code)s)."
                )
                % {"field": field, "code": format(ord(ch), "04X")}
            )
    return value


def name_key(value: str) -> str:
    """What two names are compared by: NFKC, case folded, spaces collapsed
    (full-width letters and "General" are the same name)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return " ".join(folded.split())
