"""Put real secrets back into a write-back of a redacted file.

An agent that reads a redacted `.env`, changes one line and writes the whole
file back would otherwise overwrite the real values with placeholders. restore()
takes what the agent wrote and the file's current content, finds the secrets
in the original (the same scan, the same session key, so the same tags), and
replaces each placeholder whose (rule, tag) names one of them with its value.

By default a placeholder is restored only on a line that the agent left exactly
as it read it (the redacted original's line, compared without its `\\r`), and
each such line only as many times as it occurs in the original. A secret can
therefore come back only where it was: an agent cannot move a placeholder into
a URL, a command or another file and have the real value written there.
Placeholders that are not restored stay as they are and are reported, with the
reason, so the caller can ask a person or refuse the write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from jail.redact.placeholders import PLACEHOLDER_RE, segments, tag_of
from jail.redact.scanner import Scanner
from jail.redact.textform import TextView

UNKNOWN = "unknown"  # names no secret in the original (rotated meanwhile, or invented)
MOVED = "line changed"  # names a secret, but on a line the agent edited or added


@dataclass(frozen=True)
class Unresolved:
    line: int
    rule_id: str  # "" for a bare REDACTED_BY_POLICY
    tag: str
    reason: str


@dataclass(frozen=True)
class Restored:
    data: bytes
    restored: int
    unresolved: tuple[Unresolved, ...]


def restore(data: bytes, original: bytes, key: bytes, *, scanner: Scanner | None = None,
            every_value: bool = False, same_line_only: bool = True) -> Restored:
    """`data` (a write-back) with placeholders for secrets of `original` replaced by their values."""
    scanner = scanner or Scanner.from_catalogue()
    new_view, old_view = TextView.of(data), TextView.of(original)
    if new_view is None or old_view is None or b"REDACTED_BY_POLICY" not in new_view.view:
        return Restored(data, 0, ())
    redacted, findings = scanner.redact(old_view.view, key, every_value=every_value)
    values: dict[tuple[str, str], bytes] = {}
    for finding in findings:
        value = old_view.view[finding.start:finding.end]
        for start, end in segments(value):
            values[(finding.rule_id, tag_of(value[start:end], key))] = value[start:end]
    allowed = Counter(line.rstrip(b"\r") for line in redacted.split(b"\n") if b"REDACTED_BY_POLICY" in line)
    out, unresolved, restored = [], [], 0
    for number, line in enumerate(new_view.view.split(b"\n"), 1):
        if b"REDACTED_BY_POLICY" not in line:
            out.append(line)
            continue
        unchanged = allowed[line.rstrip(b"\r")] > 0
        if unchanged:
            allowed[line.rstrip(b"\r")] -= 1
        pieces, position = [], 0
        for match in PLACEHOLDER_RE.finditer(line):
            rule_id, tag = (match.group("rule") or "").decode(), (match.group("tag") or b"").decode()
            value = values.get((rule_id, tag))
            pieces.append(line[position:match.start()])
            if value is not None and (unchanged or not same_line_only):
                pieces.append(value)
                restored += 1
            else:
                pieces.append(match.group())
                unresolved.append(Unresolved(number, rule_id, tag, UNKNOWN if value is None else MOVED))
            position = match.end()
        pieces.append(line[position:])
        out.append(b"".join(pieces))
    return Restored(new_view.encode(b"\n".join(out)), restored, tuple(unresolved))
