"""The C keyword automaton finds exactly the keywords the regex trie finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.redact.prefilter import NativeKeywords, Prefilter
from jail.redact.rules import builtin_rules

pytestmark = pytest.mark.unit

WORDS = sorted({word.encode() for rule in builtin_rules() for word in rule.keywords})
NATIVE = NativeKeywords.build(WORDS)


def _regex_found(text: bytes) -> set[bytes]:
    lowered = text.lower()
    return {word for word in WORDS if word in lowered}


def test_the_helper_is_built():
    assert NATIVE is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.binary(max_size=12), max_size=12))
def test_every_keyword_found_in_any_case(parts):
    text = b"".join(part.upper() if i % 3 == 0 else part for i, part in enumerate(parts))
    assert set(NATIVE.find(text)) == _regex_found(text)


def test_overlapping_and_nested_keywords():
    native = NativeKeywords.build([b"he", b"she", b"his", b"hers"])
    assert sorted(native.find(b"USHERS")) == [b"he", b"hers", b"she"]
    assert native.find(b"") == [] and native.find(b"\x00\xff" * 100) == []


def test_prefilter_answers_match_the_regex_fallback():
    prefilter = Prefilter([rule.keywords for rule in builtin_rules()])
    text = b"export GITHUB_TOKEN=ghp_x AKIA password: x Bearer sk-ant- xoxb-"
    assert prefilter.candidates(text) == prefilter.candidates_regex(text.lower()) != set()
