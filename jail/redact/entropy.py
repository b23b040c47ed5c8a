"""Shannon entropy of a candidate secret, the gate for generic rules.

A generic `token = ...` rule cannot tell a random credential from a word by its
shape alone; randomness can. Shannon entropy is measured in bits per character
over the value's own byte frequencies: a 40-character random base62 token scores
about 5, a 32-digit hex string about 3.8, `changeme` 2.75, `aaaaaaaa` 0.
"""

from __future__ import annotations

import math
from collections import Counter

# Values shorter than this carry too little evidence for an entropy score; the
# catalogue's generic rules also ask for a minimum length in their regexes.
MIN_SCORED_LENGTH = 4


def shannon_entropy(value: bytes | str) -> float:
    """Bits per character: -sum(p * log2 p) over the characters of `value`."""
    if not value:
        return 0.0
    length = len(value)
    counts = Counter(value)
    return -sum((n / length) * math.log2(n / length) for n in counts.values())


def longest_run(value: bytes | str) -> int:
    """Length of the longest run of one repeated character (`aaaa` -> 4)."""
    best = run = 0
    previous = None
    for char in value:
        run = run + 1 if char == previous else 1
        previous = char
        best = max(best, run)
    return best


def passes_entropy(value: bytes, minimum: float | None) -> bool:
    """True when `value` is random enough for a rule that asks for `minimum` bits/char."""
    if minimum is None:
        return True
    if len(value) < MIN_SCORED_LENGTH:
        return False
    return shannon_entropy(value) >= minimum
