"""The translation catalogs under locale/ (issue 15): compile them, or refresh them.

``python -m ops.messages compile`` (run by ``make``): every ``locale/*/LC_MESSAGES/*.po``
into its ``.mo`` (git-ignored), with GNU gettext's ``msgfmt --check-format`` (as Django's
``compilemessages`` runs it) when it is installed (Debian ``gettext``, .ci/run installs it), else
with ``polib`` (pure Python) — never skipped: a catalog that cannot be compiled fails.

``python -m ops.messages make`` (``make messages``): ``makemessages`` for every language
in settings.LANGUAGES, both domains (``django``: templates and Python; ``djangojs``:
static/js and static/sw.js), keeping existing translations. Needs ``xgettext``. New msgids
come out with an empty ``msgstr``; those whose msgid is in ``locale/<lang>/glossary.po``
(written ahead) are filled from it; the rest are listed: translate them, then ``make test``
checks none is left (tests/test_i18n_catalogs.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
# What makemessages must not read: the virtualenv, outputs, tests, benchmarks.
IGNORE = [".venv", "venv", "staticfiles", "test-output", "tests", "bench", "var", "node_modules"]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    import django

    django.setup()


def po_files() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


def compile_with_polib(po: Path) -> None:
    import polib

    catalog = polib.pofile(str(po))
    # msgfmt leaves fuzzy entries out; so does polib's save_as_mofile (it skips obsolete
    # ones, and fuzzy ones are dropped here first).
    for entry in [e for e in catalog if e.fuzzy]:
        catalog.remove(entry)
    catalog.save_as_mofile(str(po.with_suffix(".mo")))


def compile_all() -> int:
    files = po_files()
    if not files:
        print(f"no catalogs under {LOCALE}", file=sys.stderr)
        return 1
    msgfmt = shutil.which("msgfmt")
    if msgfmt:
        for po in files:  # as Django's compilemessages runs it
            done = subprocess.run(
                [msgfmt, "--check-format", "-o", str(po.with_suffix(".mo")), str(po)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(f"msgfmt failed on {po}:\n{done.stderr}", file=sys.stderr)
                return 1
        how = "msgfmt"
    else:
        for po in files:
            compile_with_polib(po)
        how = "polib (GNU gettext's msgfmt is not installed)"
    missing = [po for po in files if not po.with_suffix(".mo").exists()]
    if missing:
        print(f"not compiled: {', '.join(map(str, missing))}", file=sys.stderr)
        return 1
    print(f"compiled {len(files)} catalogs with {how}")
    return 0


def compile_if_stale() -> None:
    """Compile when a .mo is missing or older than its .po (a bare ``pytest`` run; ``make``
    always compiles). Raises when that fails."""
    if (
        any(
            not po.with_suffix(".mo").exists()
            or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
            for po in po_files()
        )
        and compile_all() != 0
    ):
        raise RuntimeError("the translation catalogs could not be compiled")


def fill_from_glossary() -> int:
    """Fill an empty ``msgstr`` from ``locale/<lang>/glossary.po`` where the msgid (and
    plural) match exactly: translations written ahead for strings being wrapped elsewhere.
    The number filled."""
    import polib

    filled = 0
    for glossary_path in sorted(LOCALE.glob("*/glossary.po")):
        glossary = {
            (e.msgctxt, e.msgid, e.msgid_plural): e for e in polib.pofile(str(glossary_path))
        }
        for po_path in sorted((glossary_path.parent / "LC_MESSAGES").glob("*.po")):
            catalog = polib.pofile(str(po_path), wrapwidth=79)  # as msgmerge wraps
            changed = False
            for entry in catalog:
                known = glossary.get((entry.msgctxt, entry.msgid, entry.msgid_plural))
                empty = not entry.msgstr and not any((entry.msgstr_plural or {}).values())
                if known is None or not (empty or entry.fuzzy):
                    continue
                entry.msgstr = known.msgstr
                entry.msgstr_plural = dict(known.msgstr_plural)
                if entry.fuzzy:
                    entry.flags.remove("fuzzy")
                    entry.previous_msgid = entry.previous_msgid_plural = None
                filled += 1
                changed = True
            if changed:
                catalog.save(str(po_path))
    return filled


def untranslated_report() -> list[str]:
    import polib

    lines = []
    for po_path in po_files():
        if po_path.parent.parent.name == "en":
            continue  # the source language: an empty msgstr shows the msgid
        for entry in polib.pofile(str(po_path)):
            if entry.obsolete:
                continue
            done = all(entry.msgstr_plural.values()) if entry.msgid_plural else entry.msgstr
            if entry.fuzzy or not done:
                flag = " (fuzzy)" if entry.fuzzy else ""
                lines.append(f"{po_path.relative_to(ROOT)}: {entry.msgid!r}{flag}")
    return lines


def make_all() -> int:
    if not shutil.which("xgettext"):
        print("makemessages needs GNU gettext (Debian: apt-get install gettext)", file=sys.stderr)
        return 1
    _django()
    from django.conf import settings
    from django.core.management import call_command

    os.chdir(ROOT)
    languages = [code for code, _ in settings.LANGUAGES]
    call_command(
        "makemessages", locale=languages, ignore_patterns=IGNORE, no_obsolete=True, verbosity=1
    )
    call_command(
        "makemessages",
        locale=languages,
        domain="djangojs",
        ignore_patterns=[*IGNORE, "staticfiles/*", "static/js/vendor/*"],
        no_obsolete=True,
        verbosity=1,
    )
    filled = fill_from_glossary()
    print(f"filled {filled} msgstr from locale/*/glossary.po")
    left = untranslated_report()
    if left:
        print(f"{len(left)} to translate (or fix if fuzzy):")
        print("\n".join(f"  {line}" for line in left))
    return compile_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["compile", "make"])
    args = parser.parse_args()
    return compile_all() if args.action == "compile" else make_all()


if __name__ == "__main__":
    sys.exit(main())
