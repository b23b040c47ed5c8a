"""Keyword prefilter: which rules can possibly match, found in one pass over the text.

Every rule names lower-case keywords, one of which occurs in any text the rule
can match. The text is lower-cased once and searched for all keywords together;
only the rules whose keywords occurred run their regexes. Most files contain
none of the provider prefixes, so most regexes never run.

The search is one compiled regex: the keywords as a trie (`gh(?:[opsur]_|...)`)
inside a lookahead, so it reports every position where any keyword starts, even
where keywords overlap; the alternation prefers the longest keyword at a
position, and a keyword that is a substring of a found one counts as found too.
Measured against a pure-Python Aho-Corasick automaton, per-keyword `bytes.find`
and a flat alternation (benchmarks/scan_throughput.py --prefilter); this was
the fastest that needs nothing outside the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence


def trie_regex(words: Iterable[bytes]) -> bytes:
    """A regex matching exactly `words`, as a trie, preferring the longest at each position."""
    trie: dict = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = True
    return _emit(trie)


def _emit(node: dict) -> bytes:
    terminal = None in node
    branches = [re.escape(bytes([byte])) + _emit(child) for byte, child in sorted(
        ((k, v) for k, v in node.items() if k is not None), key=lambda item: item[0])]
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    if terminal:
        return b"(?:" + body + b")?"
    return body


def _substrings(word: bytes) -> set[bytes]:
    return {word[start:end] for start in range(len(word)) for end in range(start + 1, len(word) + 1)}


class Prefilter:
    """Maps the keywords found in a lower-cased text to the indices of the rules they unlock."""

    def __init__(self, keywords: Sequence[Iterable[str]]) -> None:
        """`keywords[i]` are rule i's keywords."""
        by_word: dict[bytes, set[int]] = {}
        for index, words in enumerate(keywords):
            for word in words:
                by_word.setdefault(word.encode("ascii"), set()).add(index)
        # A found keyword implies every keyword it contains: look up each of its
        # substrings (a few dozen per word) rather than test every pair of words.
        self._unlocks: Mapping[bytes, frozenset[int]] = {
            word: frozenset().union(*(by_word.get(part, ()) for part in _substrings(word)))
            for word in by_word}
        self._words = tuple(sorted(by_word))
        self._pattern = re.compile(b"(?=(" + trie_regex(self._words) + b"))") if by_word else None

    @property
    def words(self) -> tuple[bytes, ...]:
        return self._words

    def candidates(self, lowered: bytes) -> set[int]:
        """Indices of the rules one of whose keywords occurs in `lowered` (already lower-cased)."""
        if self._pattern is None:
            return set()
        rules: set[int] = set()
        for word in set(self._pattern.findall(lowered)):
            rules |= self._unlocks[word]
        return rules
