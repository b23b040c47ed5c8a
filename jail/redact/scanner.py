"""The scanner: find secrets in bytes, and replace them with placeholders.

A finding names the rule, the line and the byte span of the secret in the data,
never the value. Overlapping candidates are resolved by rule priority, then by
the longer span, then by catalogue order, so `GITHUB_TOKEN=ghp_...` is one
`github-pat-classic` finding, not also a `generic-token` one.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from jail.redact.entropy import passes_entropy
from jail.redact.placeholders import check_key, mask, placeholder_spans
from jail.redact.prefilter import Prefilter
from jail.redact.rules import Rule, select_rules
from jail.redact.textform import Form, TextView, classify

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 8 * MIB
# `every_value` mode (a profile's always-redact paths such as **/.env*): the value of
# every KEY=VALUE / KEY: VALUE line, quoted or not, up to a ` #` comment.
EVERY_VALUE_RULE = "env-value"
EVERY_VALUE_PRIORITY = 0
_ASSIGNMENT = re.compile(
    rb"(?m)^[^\S\n]*(?:export[^\S\n]+)?[A-Za-z_][A-Za-z0-9_.-]*[^\S\n]*[=:][^\S\n]*"
    rb"(?:\"(?P<dq>[^\"\n]+)\"|'(?P<sq>[^'\n]+)'|(?P<bare>[^\s#'\"](?:[^\n#]|(?<!\s)#)*?))[^\S\n]*(?:\s#[^\n]*)?\r?$")


@dataclass(frozen=True)
class Finding:
    rule_id: str
    line: int  # 1-based
    start: int  # byte offsets of the secret in the data; never the value
    end: int


class Unscanned(enum.Enum):
    TOO_LARGE = "unscanned: too large"
    BINARY = "unscanned: binary"


@dataclass(frozen=True)
class ScanResult:
    """What examining one file's data found; `unscanned` says why nothing was looked at."""

    findings: tuple[Finding, ...] = ()
    unscanned: Unscanned | None = None
    form: Form = Form.TEXT

    @property
    def has_secrets(self) -> bool:
        return bool(self.findings)


class Scanner:
    """Rules compiled once; scan() and redact() are pure and thread-safe."""

    def __init__(self, rules: Iterable[Rule], max_bytes: int | None = DEFAULT_MAX_BYTES) -> None:
        self.rules = tuple(rules)
        self.max_bytes = max_bytes
        self._by_id = {rule.id: rule for rule in self.rules}
        self._prefilter = Prefilter([rule.keywords for rule in self.rules])

    @classmethod
    def from_catalogue(cls, extra_rules: Iterable[Rule] = (), disabled: Iterable[str] = frozenset(),
                       max_bytes: int | None = DEFAULT_MAX_BYTES) -> Scanner:
        return cls(select_rules(extra_rules, disabled), max_bytes)

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def check_size(self, size: int) -> Unscanned | None:
        """TOO_LARGE for a file of `size` bytes that policy does not scan (call before reading it)."""
        return Unscanned.TOO_LARGE if self.max_bytes is not None and size > self.max_bytes else None

    def examine(self, data: bytes, *, every_value: bool = False) -> ScanResult:
        """Findings in `data`, or why it was not scanned (too large, binary)."""
        too_large = self.check_size(len(data))
        if too_large:
            return ScanResult(unscanned=too_large)
        form = classify(data)
        view = TextView.of(data, form)
        if view is None:
            return ScanResult(unscanned=Unscanned.BINARY, form=form)
        return ScanResult(tuple(self._findings(view, every_value)), form=form)

    def scan(self, data: bytes, *, every_value: bool = False) -> list[Finding]:
        """Findings in `data`; none for data that policy does not scan (see examine())."""
        return list(self.examine(data, every_value=every_value).findings)

    def redact(self, data: bytes, key: bytes, *, every_value: bool = False) -> tuple[bytes, list[Finding]]:
        """`data` with every secret replaced by its placeholder, and the findings.

        The line count is unchanged and redact(redact(x)) == redact(x). Data that
        policy does not scan comes back unchanged with no findings.
        """
        check_key(key)
        if self.check_size(len(data)):
            return data, []
        view = TextView.of(data)
        if view is None:
            return data, []
        spans = self._spans(view.view, every_value)
        if not spans:
            return data, []
        out, position = [], 0
        for start, end, rule in spans:
            out.append(view.view[position:start])
            out.append(mask(view.view[start:end], rule.id if rule else EVERY_VALUE_RULE, key))
            position = end
        out.append(view.view[position:])
        return view.encode(b"".join(out)), self._to_findings(view, spans)

    # -- internals ------------------------------------------------------------------------------

    def _findings(self, view: TextView, every_value: bool) -> list[Finding]:
        return self._to_findings(view, self._spans(view.view, every_value))

    def _to_findings(self, view: TextView, spans: list[tuple[int, int, Rule | None]]) -> list[Finding]:
        # Offsets in the view equal offsets in line_text (the data itself, or the decoded view).
        findings, line, counted = [], 1, 0
        lines = view.line_text
        for start, end, rule in spans:
            line += lines.count(b"\n", counted, start)
            counted = start
            findings.append(Finding(rule.id if rule else EVERY_VALUE_RULE, line,
                                    view.data_offset(start), view.data_offset(end)))
        return findings

    def _spans(self, text: bytes, every_value: bool) -> list[tuple[int, int, Rule | None]]:
        """Non-overlapping (start, end, rule) of the secrets in `text`, in order; rule None = every-value."""
        protected = placeholder_spans(text)
        lowered = None  # ASCII-only lower case: offsets are the same as in text
        candidates: list[tuple[int, int, int, int, Rule | None]] = []
        for index in sorted(self._prefilter.candidates(text)):
            rule = self.rules[index]
            if lowered is None and rule.case_insensitive:
                lowered = text.lower()
            for match in rule.pattern.finditer(lowered if rule.case_insensitive else text):
                start, end = match.span("secret")
                if start < 0 or end <= start or _overlaps(protected, start, end):
                    continue
                value = text[start:end]
                if not value.strip() or not passes_entropy(value, rule.entropy):
                    continue  # blanks alone (a PEM block with an empty body) hide nothing
                if any(predicate(value, match) for predicate in rule.predicates):
                    continue
                candidates.append((-rule.priority, -(end - start), index, start, rule))
        if every_value:
            for match in _ASSIGNMENT.finditer(text):
                group = next(g for g in ("dq", "sq", "bare") if match.group(g) is not None)
                start, end = match.span(group)
                if not _overlaps(protected, start, end):
                    candidates.append((-EVERY_VALUE_PRIORITY, -(end - start), len(self.rules), start, None))
        chosen: list[tuple[int, int, Rule | None]] = []
        starts: list[int] = []
        for _, negative_length, _, start, rule in sorted(candidates, key=lambda c: c[:4]):
            end = start - negative_length
            at = bisect.bisect_left(starts, start)
            if at > 0 and chosen[at - 1][1] > start:
                continue
            if at < len(chosen) and chosen[at][0] < end:
                continue
            starts.insert(at, start)
            chosen.insert(at, (start, end, rule))
        return chosen


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """True when [start, end) overlaps one of the sorted, disjoint `spans`."""
    if not spans:
        return False
    at = bisect.bisect_right(spans, (start, float("inf")))
    if at > 0 and spans[at - 1][1] > start:
        return True
    return at < len(spans) and spans[at][0] < end
