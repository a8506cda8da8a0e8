"""Content rules, compiled once per process and applied to each send's text.

A send pays for the rules in microseconds, not a query: the active rules are read once,
compiled into a few combined patterns per scope (all refusing words in one alternation, all
masking words in another, the regular expressions likewise, the link domains in a set), and
kept until a rule changes. A change is published on the channel layer's ``moderation``
group, which every server process's hub follows (``messaging.hub``), and each process drops
its compiled copy; the next send compiles again.

Regular expressions come from staff, and a pattern with catastrophic backtracking must not
hang a send: they run under the ``regex`` package's ``timeout``. Backreferences are refused
on save (they are the usual cause, and they would break the combined alternation). A match
that times out counts as a match of a refusing rule (the message is refused, and logged) and
is skipped for a masking one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import regex
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from chatsite.foundation.codes import Code
from chatsite.foundation.errors import ChatError

if TYPE_CHECKING:
    from moderation.models import ContentRule

log = logging.getLogger(__name__)

RULES_GROUP = "moderation"  # every hub follows it; kind "rules": drop the compiled rules
REGEX_TIMEOUT = 0.05  # seconds for all the regular expressions of one send
MASK_CHAR = "*"

# A link: a scheme, or www., or a bare host with a known-looking top-level domain and a path
# or end. Hosts are then compared with the rule domains (and their subdomains).
_LINK = regex.compile(
    r"(?i)\b(?:(?:https?|ftp)://|www\.)?"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b(?::\d{1,5})?(?:/[^\s]*)?"
)
_SCHEME_OR_WWW = regex.compile(r"(?i)^(?:(?:https?|ftp)://|www\.)")
_EMAIL = regex.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,24}\b")
_PHONE = regex.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){6,14}(?!\w)")
_DOMAIN = regex.compile(r"(?i)^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")
_BACKREF = regex.compile(r"\\[1-9]|\(\?P=|\\g<|\\k<")


class Filtered(ChatError):
    code = Code.FILTERED
    default_detail = gettext_lazy("This message was not sent: it breaks a content rule.")


# What a refusal says: the kind of rule, never the rule.
DETAIL = {
    "word": "This message contains a word that is not allowed here.",
    "regex": "This message contains text that is not allowed here.",
    "link_domain": "This message links to a site that is not allowed here.",
    "new_guest_link": "New guests cannot post links in public rooms yet; try again later.",
}


def validate_rule(rule: ContentRule) -> None:
    """``ValidationError`` unless the rule's pattern compiles and is safe to combine."""
    pattern = rule.pattern.strip()
    if not pattern:
        raise ValidationError({"pattern": "A rule needs a pattern."})
    if rule.kind == "regex":
        if _BACKREF.search(pattern):
            raise ValidationError({"pattern": "Backreferences are not allowed."})
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise ValidationError({"pattern": f"Not a valid regular expression: {exc}"}) from exc
    elif rule.kind == "link_domain" and not _DOMAIN.match(_domain_of(pattern)):
        raise ValidationError({"pattern": "A link domain looks like example.com."})


def _domain_of(pattern: str) -> str:
    host = _SCHEME_OR_WWW.sub("", pattern.strip().lower())
    return host.split("/", 1)[0].rstrip(".")


@dataclass
class ScopeRules:
    """The compiled rules of one scope (public or direct rooms)."""

    refuse_words: regex.Pattern[str] | None = None
    mask_words: regex.Pattern[str] | None = None
    refuse_regex: regex.Pattern[str] | None = None
    mask_regex: regex.Pattern[str] | None = None
    refuse_domains: frozenset[str] = field(default_factory=frozenset)
    mask_domains: frozenset[str] = field(default_factory=frozenset)

    @property
    def empty(self) -> bool:
        return not (
            self.refuse_words
            or self.mask_words
            or self.refuse_regex
            or self.mask_regex
            or self.refuse_domains
            or self.mask_domains
        )


def _words(words: list[str]) -> regex.Pattern[str] | None:
    if not words:
        return None
    # Longest first, so a phrase wins over a word it starts with; whole words, any case.
    alternation = "|".join(regex.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return regex.compile(rf"(?i)(?<!\w)(?:{alternation})(?!\w)")


def _regexes(patterns: list[str]) -> regex.Pattern[str] | None:
    if not patterns:
        return None
    return regex.compile("|".join(f"(?:{p})" for p in patterns))


def compile_rules(rules: list[ContentRule]) -> dict[str, ScopeRules]:
    """The active rules compiled per scope (``public``, ``direct``)."""
    compiled: dict[str, ScopeRules] = {}
    for scope in ("public", "direct"):
        mine = [r for r in rules if r.scope in (scope, "both")]

        def of(kind: str, action: str, mine: list[ContentRule] = mine) -> list[str]:
            return [r.pattern.strip() for r in mine if r.kind == kind and r.action == action]

        compiled[scope] = ScopeRules(
            refuse_words=_words(of("word", "refuse")),
            mask_words=_words(of("word", "mask")),
            refuse_regex=_regexes(of("regex", "refuse")),
            mask_regex=_regexes(of("regex", "mask")),
            refuse_domains=frozenset(_domain_of(p) for p in of("link_domain", "refuse")),
            mask_domains=frozenset(_domain_of(p) for p in of("link_domain", "mask")),
        )
    return compiled


def _host_matches(host: str, domains: frozenset[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (a few set lookups)."""
    host = host.lower().rstrip(".")
    while True:
        if host in domains:
            return True
        _, dot, rest = host.partition(".")
        if not dot:
            return False
        host = rest


def links_in(text: str) -> list[tuple[int, int, str]]:
    """(start, end, host) of each link-looking span; a bare host needs a scheme, www. or a
    path-free form like ``example.com`` (then any dotted name with a letters-only TLD)."""
    if "." not in text:
        return []
    return [(m.start(), m.end(), m.group(1)) for m in _LINK.finditer(text)]


def has_link(text: str) -> bool:
    return bool(links_in(text))


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        start = max(start, last)
        if start >= end:
            continue
        out.append(text[last:start])
        out.append(MASK_CHAR * (end - start))
        last = end
    out.append(text[last:])
    return "".join(out)


def apply_rules(rules: ScopeRules, text: str) -> str:
    """The text as it will be stored (masked), or ``Filtered`` if a refusing rule matches."""
    if rules.empty:
        return text
    if rules.refuse_words is not None and rules.refuse_words.search(text):
        raise Filtered(DETAIL["word"])
    if rules.refuse_regex is not None:
        try:
            if rules.refuse_regex.search(text, timeout=REGEX_TIMEOUT):
                raise Filtered(DETAIL["regex"])
        except TimeoutError as exc:
            log.warning("content rules: a refusing regex timed out on a %s-char text", len(text))
            raise Filtered(DETAIL["regex"]) from exc
    links = links_in(text) if (rules.refuse_domains or rules.mask_domains) else []
    if rules.refuse_domains and any(_host_matches(h, rules.refuse_domains) for *_, h in links):
        raise Filtered(DETAIL["link_domain"])
    spans: list[tuple[int, int]] = []
    if rules.mask_words is not None:
        spans += [m.span() for m in rules.mask_words.finditer(text)]
    if rules.mask_regex is not None:
        try:
            spans += [
                m.span()
                for m in rules.mask_regex.finditer(text, timeout=REGEX_TIMEOUT)
                if m.end() > m.start()
            ]
        except TimeoutError:
            log.warning("content rules: a masking regex timed out on a %s-char text", len(text))
    if rules.mask_domains:
        spans += [(s, e) for s, e, h in links if _host_matches(h, rules.mask_domains)]
    return _mask(text, spans)


def mask_contacts(text: str) -> str:
    """E-mail addresses and phone numbers masked (``CHAT_MASK_CONTACTS``, direct rooms)."""
    if "@" not in text and not any(c.isdigit() for c in text):
        return text
    spans = [m.span() for m in _EMAIL.finditer(text)]
    spans += [m.span() for m in _PHONE.finditer(text)]
    return _mask(text, spans)


# --- the per-process cache ----------------------------------------------------------------

_lock = threading.Lock()
_compiled: dict[str, ScopeRules] | None = None
_generation = 0  # bumped by each invalidation: a load that raced one is not kept


def rules_for(scope: str) -> ScopeRules:
    """The compiled rules of ``scope`` (reads the database once after each change)."""
    global _compiled
    compiled = _compiled
    if compiled is None:
        from moderation.models import ContentRule

        generation = _generation
        compiled = compile_rules(list(ContentRule.objects.filter(is_active=True)))
        with _lock:
            if generation == _generation:
                _compiled = compiled
    return compiled[scope]


def invalidate() -> None:
    """Forget the compiled rules (a rule changed here or in another process)."""
    global _compiled, _generation
    with _lock:
        _generation += 1
        _compiled = None
