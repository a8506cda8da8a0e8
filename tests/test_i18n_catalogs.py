"""The catalogs are complete, and no visible string escapes them (issue 15).

1. ``makemessages`` (GNU xgettext) runs on a temporary copy of the code; every msgid it
   finds, in both domains (``django``: Python and templates; ``djangojs``: static/js and
   sw.js), must be in ``locale/ko`` translated (a non-empty, non-fuzzy msgstr) and in
   ``locale/en``. A failure lists the missing msgids; ``make messages`` adds them to the
   catalogs (empty), then translate them in locale/ko/LC_MESSAGES/*.po.
2. A heuristic for strings never wrapped at all (makemessages cannot see those):
   - templates: visible text and the ``placeholder``/``aria-label``/``title``/``alt``
     attributes outside ``{% translate %}``/``{% blocktranslate %}``;
   - JavaScript: string literals with letters assigned to ``textContent``/``title``/
     ``placeholder``, passed as ``text:``/``placeholder:``/``"aria-label":``/``title:``/
     ``alt:``/``label:`` or as ``h(tag, attrs, "literal")`` children, or to
     ``setAttribute("aria-label"|"title"|"placeholder", …)``, and not inside ``gettext(``.
   It is a heuristic: ``ALLOWED`` lists strings that are not words for people (the brand,
   symbols, technical values). A new false positive goes there, with a reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest

from tests.servers import need_binary

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    "accounts",
    "rooms",
    "images",
    "moderation",
    "messaging",
    "notifications",
    "chatsite",
    "templates",
    "static",
]
DOMAINS = ("django", "djangojs")

# Not words for people: the product's name and technical values (symbols and numbers
# never count: only runs of two or more Latin letters do).
ALLOWED = {
    "Realtime Chat",
    "chat.v1",
    "JSON",
    "English",  # a language's own name in the language menu (next to 한국어): never translated
}

# ---------------------------------------------------------------------------------------------
# 1. Every msgid in the catalogs, translated


def _entries(path: Path) -> dict[tuple[str | None, str], polib.POEntry]:
    return {(e.msgctxt, e.msgid): e for e in polib.pofile(str(path)) if not e.obsolete}


def _translated(entry: polib.POEntry) -> bool:
    if entry.fuzzy:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """makemessages -l ko on a copy of the code, into an empty locale/ of the copy."""
    need_binary("xgettext")
    need_binary("msgmerge")
    copy = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        shutil.copytree(
            ROOT / name,
            copy / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.po"),
        )
    (copy / "locale").mkdir()
    (copy / "i18n_check_settings.py").write_text(
        "from chatsite.settings import *  # noqa: F403\n"
        "from pathlib import Path\n"
        "LOCALE_PATHS = [Path(__file__).resolve().parent / 'locale']\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "i18n_check_settings",
        "PYTHONPATH": str(copy),
        "SECRET_KEY": "i18n-check",
        "DEV_VAPID_FILE": str(copy / "vapid.pem"),
    }
    django_admin = [sys.executable, "-m", "django", "makemessages", "-l", "ko", "--no-obsolete"]
    for extra in ([], ["-d", "djangojs"]):
        subprocess.run(
            [*django_admin, *extra], cwd=copy, env=env, check=True, capture_output=True, timeout=120
        )
    return {domain: copy / "locale" / "ko" / "LC_MESSAGES" / f"{domain}.po" for domain in DOMAINS}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_string_in_the_code_is_in_the_korean_catalog_translated(extracted, domain):
    found = _entries(extracted[domain])
    assert found, f"makemessages found no {domain} strings"
    korean = _entries(ROOT / "locale" / "ko" / "LC_MESSAGES" / f"{domain}.po")
    missing = [key for key in found if key not in korean]
    untranslated = [key for key in found if key in korean and not _translated(korean[key])]

    def listing(keys):
        return "\n".join(
            f"  {key[1]!r}"
            + (f" (context {key[0]!r})" if key[0] else "")
            + f"  [{', '.join(f'{f}:{n}' for f, n in found[key].occurrences[:2])}]"
            for key in keys
        )

    problems = []
    if missing:
        problems.append(
            f"{len(missing)} msgid(s) not in locale/ko/LC_MESSAGES/{domain}.po "
            f"(run `make messages`, then translate them):\n{listing(missing)}"
        )
    if untranslated:
        problems.append(
            f"{len(untranslated)} msgid(s) empty or fuzzy in locale/ko/LC_MESSAGES/{domain}.po:\n"
            + listing(untranslated)
        )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_english_catalog_has_the_same_msgids(extracted, domain):
    english = _entries(ROOT / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po")
    missing = [key[1] for key in _entries(extracted[domain]) if key not in english]
    assert not missing, f"not in locale/en/LC_MESSAGES/{domain}.po (run `make messages`): {missing}"


# ---------------------------------------------------------------------------------------------
# 2. Strings never wrapped (a heuristic)

TRANSLATED_BLOCK = re.compile(
    r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}"
    r"|{%\s*trans(?:late)?\s+.*?%}",
    re.S,
)
TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
COMMENT_BLOCK = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.S)
WORDS = re.compile(r"[A-Za-z]{2,}")
VISIBLE_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt", "aria-description"}


def _suspect(text: str) -> bool:
    """Words for people are left once the allowed names and symbols are taken out."""
    text = " ".join(text.split())
    for allowed in sorted(ALLOWED, key=len, reverse=True):
        text = text.replace(allowed, " ")
    return bool(WORDS.search(text))


class _TemplateText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and _suspect(value):
                self.found.append(f'{name}="{value}"')
            button = ("type", "submit") in attrs or ("type", "button") in attrs
            if tag == "input" and button and name == "value" and value and _suspect(value):
                self.found.append(f'value="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and _suspect(data):
            self.found.append(" ".join(data.split()))


def unwrapped_in_template(source: str) -> list[str]:
    stripped = TAG.sub(" ", TRANSLATED_BLOCK.sub(" ", COMMENT_BLOCK.sub(" ", source)))
    parser = _TemplateText()
    parser.feed(stripped)
    parser.close()
    return parser.found


LITERAL = r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
JS_PATTERNS = [
    re.compile(r"\.(?:textContent|innerText|title|placeholder|ariaLabel)\s*=\s*" + LITERAL),
    re.compile(
        r"""(?:[{,]\s*)(?:text|placeholder|title|alt|label|"aria-label"|'aria-label')\s*:\s*"""
        + LITERAL
    ),
    re.compile(
        r"""setAttribute\(\s*["'](?:aria-label|title|placeholder|alt)["']\s*,\s*""" + LITERAL
    ),
    # h("tag", {…} or null, "literal"): a text child (attributes without nested braces).
    re.compile(r"""\bh\(\s*["'][\w-]+["']\s*,\s*(?:\{[^{}]*\}|null|undefined)\s*,\s*""" + LITERAL),
]


def unwrapped_in_js(source: str) -> list[str]:
    found = []
    for pattern in JS_PATTERNS:
        for match in pattern.finditer(source):
            literal = match.group(1)[1:-1]
            if _suspect(re.sub(r"\$\{[^}]*\}", "", literal)):
                found.append(literal)
    return found


def _template_files() -> list[Path]:
    roots = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]
    return sorted(p for r in roots for p in r.rglob("*") if p.suffix in {".html", ".txt"})


def _js_files() -> list[Path]:
    files = sorted((ROOT / "static" / "js").rglob("*.js"))
    return [*files, ROOT / "static" / "sw.js"]


def test_templates_have_no_unwrapped_visible_text():
    problems = {
        str(path.relative_to(ROOT)): found
        for path in _template_files()
        if (found := unwrapped_in_template(path.read_text()))
    }
    assert not problems, "visible text outside {% translate %}:\n" + "\n".join(
        f"  {path}: {found}" for path, found in problems.items()
    )


def test_javascript_has_no_unwrapped_visible_strings():
    problems = {
        str(path.relative_to(ROOT)): found
        for path in _js_files()
        if (found := unwrapped_in_js(path.read_text()))
    }
    assert not problems, "visible strings not passed through gettext():\n" + "\n".join(
        f"  {path}: {found}" for path, found in problems.items()
    )


def test_the_heuristics_catch_what_they_are_for():
    """The checks above can fail: each kind of unwrapped string is caught, wrapped ones not."""
    assert unwrapped_in_template('<p title="Hello there">Send now</p>') == [
        'title="Hello there"',
        "Send now",
    ]
    assert (
        unwrapped_in_template(
            '{% load i18n %}<p title="{% translate "Hi" %}">{% translate "Send" %} {{ n }}'
            "{% blocktranslate %}{{ n }} more{% endblocktranslate %} · Realtime Chat</p>"
            "<script>const a = 'no';</script>"
        )
        == []
    )
    assert unwrapped_in_js('el.textContent = "Offline";') == ["Offline"]
    assert unwrapped_in_js('h("button", { type: "button" }, "Send")') == ["Send"]
    assert unwrapped_in_js('h("input", { placeholder: "Say something" })') == ["Say something"]
    assert unwrapped_in_js('h("b", { "aria-label": `Open ${name}` })') == ["Open ${name}"]
    assert unwrapped_in_js('button.setAttribute("title", "Edit")') == ["Edit"]
    assert (
        unwrapped_in_js(
            'el.textContent = gettext("Offline"); h("b", { title: gettext("Edit") }, gettext("x"));'
            ' h("span", { class: "x" }, "…"); el.textContent = "";'
        )
        == []
    )


def test_the_pure_python_compiler_makes_catalogs_gettext_reads(tmp_path):
    """Without GNU gettext, ``make`` compiles with polib (ops/messages.py): the result works,
    plural forms included, and a fuzzy entry is left out as msgfmt leaves it out."""
    import gettext

    from ops.messages import compile_with_polib

    po = tmp_path / "django.po"
    shutil.copy(ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po", po)
    catalog = polib.pofile(str(po))
    catalog.append(polib.POEntry(msgid="Unsure", msgstr="불확실", flags=["fuzzy"]))
    catalog.save()
    compile_with_polib(po)
    with (tmp_path / "django.mo").open("rb") as compiled:
        korean = gettext.GNUTranslations(compiled)
    assert korean.gettext("No such room.") == "해당 방이 없습니다."
    photos = korean.ngettext("Sent a photo", "Sent %(count)s photos", 3)
    assert photos == "사진 %(count)s장을 보냈습니다"
    assert korean.gettext("Unsure") == "Unsure"
