"""Content rules: compiled once per process, applied to each send's text."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moderation import rules
from moderation.models import ContentRule
from moderation.rules import Filtered, apply_rules, compile_rules, mask_contacts
from moderation.services import content_rule_delete, content_rule_save


def compiled(*specs, scope="public"):
    made = [
        ContentRule(kind=kind, pattern=pattern, action=action, scope=rule_scope)
        for kind, pattern, action, rule_scope in specs
    ]
    return compile_rules(made)[scope]


def test_a_refused_word_refuses_whole_words_in_any_case_and_says_only_the_kind():
    rules_ = compiled(("word", "scam", "refuse", "both"))
    with pytest.raises(Filtered) as refused:
        apply_rules(rules_, "This is a SCAM, friend")
    assert refused.value.code == "filtered"
    assert "scam" not in refused.value.detail.lower()
    assert apply_rules(rules_, "scampi for dinner") == "scampi for dinner"


def test_a_masked_word_is_replaced_in_the_stored_text():
    rules_ = compiled(("word", "darn", "mask", "both"), ("word", "heck no", "mask", "both"))
    assert apply_rules(rules_, "Darn it, heck no!") == "**** it, *******!"


def test_a_regex_rule_refuses_or_masks():
    refuse = compiled(("regex", r"\bfree\s+money\b", "refuse", "both"))
    with pytest.raises(Filtered):
        apply_rules(refuse, "get free   money now")
    mask = compiled(("regex", r"\d{4}-\d{4}", "mask", "both"))
    assert apply_rules(mask, "card 1234-5678 ok") == "card ********* ok"


def test_a_link_domain_covers_its_subdomains_and_not_lookalikes():
    rules_ = compiled(("link_domain", "evil.example", "refuse", "both"))
    for text in ("see https://evil.example/x", "www.evil.example", "go to shop.evil.example now"):
        with pytest.raises(Filtered):
            apply_rules(rules_, text)
    assert apply_rules(rules_, "notevil.example and evil.examples.org") == (
        "notevil.example and evil.examples.org"
    )
    masked = compiled(("link_domain", "spam.test", "mask", "both"))
    assert apply_rules(masked, "buy at http://spam.test/now !") == "buy at " + "*" * 20 + " !"


def test_scope_limits_a_rule_to_public_or_direct_rooms():
    only_public = [("word", "gossip", "refuse", "public")]
    with pytest.raises(Filtered):
        apply_rules(compiled(*only_public, scope="public"), "gossip")
    assert apply_rules(compiled(*only_public, scope="direct"), "gossip") == "gossip"


def test_a_catastrophic_regex_is_bounded_and_refuses_instead_of_hanging():
    pattern, text = r"(a|aa)+$", "a" * 40 + "!"
    with pytest.raises(TimeoutError):  # unbounded, this search runs for minutes
        rules.regex.compile(pattern).search(text, timeout=0.5)
    rules_ = compiled(("regex", pattern, "refuse", "both"))
    started = time.perf_counter()
    with pytest.raises(Filtered):
        apply_rules(rules_, text)
    assert time.perf_counter() - started < 0.5
    masking = compiled(("regex", pattern, "mask", "both"))
    assert apply_rules(masking, text) == text  # a masking rule that timed out is skipped


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [("regex", "(unclosed"), ("regex", r"(a)\1"), ("link_domain", "not a domain"), ("word", " ")],
)
def test_a_bad_rule_is_refused_on_save(kind, pattern):
    with pytest.raises(ValidationError):
        ContentRule(kind=kind, pattern=pattern).full_clean()


def test_contacts_are_masked():
    assert mask_contacts("mail me: a.b@example.com or +1 (555) 123-4567, ok?") == (
        "mail me: " + "*" * 15 + " or " + "*" * 17 + ", ok?"
    )
    assert mask_contacts("we meet at 10:30 on the 3rd") == "we meet at 10:30 on the 3rd"


@pytest.mark.django_db
def test_rules_are_compiled_once_and_dropped_when_a_rule_changes():
    rules.invalidate()
    assert rules.rules_for("public").empty
    with CaptureQueriesContext(connection) as queries:
        rules.rules_for("public")
        rules.rules_for("direct")
    assert len(queries) == 0
    rule = content_rule_save(
        rule=ContentRule(kind="word", pattern="spoiler", action="refuse", scope="both")
    )
    with pytest.raises(Filtered):
        apply_rules(rules.rules_for("public"), "no spoiler please")
    content_rule_delete(rule=rule)
    assert apply_rules(rules.rules_for("public"), "no spoiler please") == "no spoiler please"
