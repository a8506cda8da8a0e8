"""The browser client's table of codes (static/js/codes.js) is the server's, exactly."""

import re

from chatsite.foundation.codes import CLOSE_CODES, Code
from tests.servers import ROOT

CODES_JS = ROOT / "static" / "js" / "codes.js"


def js_table(name: str) -> dict[str, object]:
    """The entries of ``export const <name> = Object.freeze({ … });`` in codes.js, in order."""
    text = CODES_JS.read_text()
    block = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\);", text, re.S)
    assert block, f"codes.js has no frozen {name} table"
    entries: dict[str, object] = {}
    for line in block.group(1).splitlines():
        line = line.split("//", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r'([A-Z_]+): (?:(\d+)|"([a-z_]+)"),', line)
        assert match, f"unexpected line in {name}: {line!r}"
        key, number, string = match.groups()
        assert key not in entries, f"{name}.{key} twice"
        entries[key] = int(number) if number else string
    return entries


def test_close_codes_in_the_client_are_the_servers():
    assert js_table("Close") == CLOSE_CODES


def test_error_codes_in_the_client_are_the_servers():
    assert js_table("Code") == {member.name: member.value for member in Code}


def test_the_client_compares_codes_only_through_the_table():
    """No literal code where the client compares codes (a CSS class "muted" is no code)."""
    closes = "|".join(str(value) for value in CLOSE_CODES.values())
    codes = "|".join(c.value for c in Code)
    literals = re.compile(rf'\b(?:{closes})\b|"(?:{codes})"')
    comparing = re.compile(r"code|===|!==|==|!=|\bcase\b|includes\(|\.has\(|new Set\(")
    for path in sorted((ROOT / "static" / "js").rglob("*.js")):
        if path == CODES_JS:
            continue
        found = [
            f"{path.name}:{n}: {line.strip()}"
            for n, line in enumerate(path.read_text().splitlines(), 1)
            if literals.search(line) and comparing.search(line)
        ]
        assert not found, found
