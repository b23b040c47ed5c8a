"""Keyword prefilter: which rules can possibly match, found in one pass over the text.

Every rule names lower-case keywords, one of which occurs in any text the rule
can match. The text is lower-cased once and searched for all keywords together;
only the rules whose keywords occurred run their regexes. Most files contain
none of the provider prefixes, so most regexes never run.

The search is an Aho-Corasick automaton in jail's C helper
(native/jail_keywords.c): one table lookup per byte, case folded as it goes,
every keyword found even where keywords overlap. Where the helper is not built
(the pure unit tests may run without it) the same answer comes from one
compiled regex: the keywords as a trie (`gh(?:[opsur]_|...)`) inside a
lookahead, where a keyword that is a substring of a found one counts as found
too. benchmarks/scan_throughput.py --prefilter measures both against the other
pure-Python alternatives.
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
        self._automaton = NativeKeywords.build(self._words) if by_word else None

    @property
    def words(self) -> tuple[bytes, ...]:
        return self._words

    def candidates(self, text: bytes) -> set[int]:
        """Indices of the rules one of whose keywords occurs in `text` (any case)."""
        if self._pattern is None:
            return set()
        found = (self._automaton.find(text) if self._automaton is not None
                 else set(self._pattern.findall(text.lower())))
        rules: set[int] = set()
        for word in found:
            rules |= self._unlocks[word]
        return rules

    def candidates_regex(self, lowered: bytes) -> set[int]:
        """The same answer from the pure-Python trie regex (for comparison)."""
        rules: set[int] = set()
        for word in set(self._pattern.findall(lowered)) if self._pattern is not None else ():
            rules |= self._unlocks[word]
        return rules


class NativeKeywords:
    """The C automaton over a fixed list of lower-case ASCII keywords."""

    def __init__(self, words: Sequence[bytes], ffi, lib) -> None:
        self._ffi, self._lib, self._words = ffi, lib, tuple(words)
        keep = [ffi.new("char[]", word) for word in self._words]
        handle = lib.jl_kw_new(ffi.new("char *[]", keep), len(keep))
        if handle == ffi.NULL:
            raise MemoryError("cannot build the keyword automaton")
        self._handle = ffi.gc(handle, lib.jl_kw_free)

    @classmethod
    def build(cls, words: Sequence[bytes]) -> NativeKeywords | None:
        try:
            from jail._native import ffi, lib
        except ImportError:
            return None
        return cls(words, ffi, lib)

    def find(self, text: bytes) -> list[bytes]:
        """The keywords that occur in `text`, matched without regard to ASCII case."""
        found = self._ffi.new("uint8_t[]", len(self._words))
        if self._lib.jl_kw_scan(self._handle, self._ffi.from_buffer(text), len(text), found) == 0:
            return []
        flags = self._ffi.buffer(found)[:]
        return [word for word, hit in zip(self._words, flags, strict=True) if hit]
