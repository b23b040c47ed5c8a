"""Placeholders that stand in for secrets: `REDACTED_BY_POLICY:<rule-id>:<tag>`.

The tag is the first 8 hex digits of HMAC-SHA256(session key, value). The key
is random per session and never leaves the supervisor, so the same secret gets
the same placeholder everywhere in one session (an agent can see that two files
hold the same credential, and a write-back can be matched to its original), yet
the tag reveals nothing about the value: without the key it cannot be checked
against a guess.

Placeholders never add or remove a newline. A secret that spans lines (a PEM
body) is replaced line by line: each line's content, without its surrounding
blanks and its `\\r`, becomes a placeholder of its own, tagged by that line's
content, so the block keeps its line count and every line can be restored on
its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator

MARKER = b"REDACTED_BY_POLICY"
TAG_HEX = 8
MIN_KEY_BYTES = 16
# The full form and, for values redacted without a rule (the bare marker), the marker alone.
PLACEHOLDER_RE = re.compile(rb"REDACTED_BY_POLICY(?::(?P<rule>[a-z0-9][a-z0-9.-]*):(?P<tag>[0-9a-f]{8}))?")
_BLANKS = b" \t\r"


def new_session_key() -> bytes:
    """A fresh random key for one session's placeholders."""
    return secrets.token_bytes(32)


def check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"a placeholder key must be at least {MIN_KEY_BYTES} random bytes")


def tag_of(value: bytes, key: bytes) -> str:
    """8 hex digits of the keyed hash of `value`."""
    return hmac.new(key, value, hashlib.sha256).hexdigest()[:TAG_HEX]


def placeholder(rule_id: str, value: bytes, key: bytes) -> bytes:
    return MARKER + b":" + rule_id.encode("ascii") + b":" + tag_of(value, key).encode("ascii")


def segments(value: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line's content in `value`, without blanks around it; empty lines skipped."""
    position = 0
    for line in value.split(b"\n"):
        left = len(line) - len(line.lstrip(_BLANKS))
        right = len(line.rstrip(_BLANKS))
        if right > left:
            yield position + left, position + right
        position += len(line) + 1


def mask(value: bytes, rule_id: str, key: bytes) -> bytes:
    """`value` with each line's content replaced by its placeholder; newlines and blanks kept."""
    out = []
    position = 0
    for start, end in segments(value):
        out.append(value[position:start])
        out.append(placeholder(rule_id, value[start:end], key))
        position = end
    out.append(value[position:])
    return b"".join(out)


def placeholder_spans(data: bytes) -> list[tuple[int, int]]:
    """Where placeholders already stand in `data` (so a second redaction leaves them alone)."""
    if MARKER not in data:
        return []
    return [m.span() for m in PLACEHOLDER_RE.finditer(data)]


def is_placeholder_text(value: bytes) -> bool:
    """True when `value` holds a placeholder anywhere (an already redacted value)."""
    return MARKER in value
