"""The secret catalogue: rules as data (profiles/secrets.toml), checked at load time.

Each `[[rule]]` has
  id              stable kebab-case name; it appears in placeholders and audit records
  description     what the secret is, for a person
  keywords        lower-case literals; the rule's regex runs only when one occurs in the text
  regex           Python `re` syntax, with one named group `secret`: exactly the part to hide
  entropy         optional minimum Shannon bits/char of the secret (generic rules)
  filters         optional false-positive predicates by name (see filters.py)
  priority        optional; when two findings overlap the higher priority wins (default 50)
  case_insensitive optional; the regex runs on the lower-cased text (write its literals in
                  lower case): much faster than (?i); the secret is still cut from the original
  examples        texts the rule must find a secret in
  counterexamples texts it must not

A rule that cannot be used is an error naming the file, the rule's line and the
key, never a silently weaker catalogue.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import tomli

from jail.errors import ProfileError
from jail.redact.filters import FILTERS, Predicate

CATALOGUE_PACKAGE = "jail.builtin_profiles"
CATALOGUE_FILE = "secrets.toml"
DEFAULT_PRIORITY = 50
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEYS = frozenset({"id", "description", "keywords", "regex", "entropy", "filters", "priority",
                   "case_insensitive", "examples", "counterexamples"})
_REQUIRED = ("id", "description", "keywords", "regex")


class CatalogueError(ProfileError):
    """A secret rule that cannot be used."""


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    keywords: tuple[str, ...]
    regex: bytes = field(repr=False)  # the rule's regex in its fast form (see fast_form)
    entropy: float | None = None
    filters: tuple[str, ...] = ()
    priority: int = DEFAULT_PRIORITY
    case_insensitive: bool = False
    examples: tuple[str, ...] = field(default=(), repr=False)
    counterexamples: tuple[str, ...] = field(default=(), repr=False)
    where: str = ""  # "secrets.toml:123"

    @functools.cached_property
    def pattern(self) -> re.Pattern[bytes]:
        """Compiled on first use: most rules never run (their keywords never occur),
        and compiling all 179 built-in regexes took ~60 ms of every `jail run`."""
        return re.compile(self.regex)

    @property
    def predicates(self) -> tuple[Predicate, ...]:
        return tuple(FILTERS[name] for name in self.filters)


def parse_rules(text: str, source: str, *, compile_now: bool = True) -> tuple[Rule, ...]:
    """Every `[[rule]]` of a TOML document, checked; CatalogueError names the first problem.

    compile_now=False leaves each regex to be compiled on first use: only for
    jail's own catalogue, whose every rule its tests compile and run.
    """
    try:
        document = tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        raise CatalogueError(f"not valid TOML: {error}", source) from None
    tables = document.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise CatalogueError("`rule` must be an array of tables ([[rule]])", source)
    lines = _rule_lines(text)
    rules = [rule_from_table(table, source, lines[i] if i < len(lines) else None, compile_now=compile_now)
             for i, table in enumerate(tables)]
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            raise CatalogueError(f'rule id "{rule.id}" is used twice (first at {seen[rule.id].where})',
                                 source, int(rule.where.rsplit(":", 1)[1]) if rule.where else None)
        seen[rule.id] = rule
    return tuple(rules)


def rule_from_table(table: Mapping[str, object], source: str, line: int | None, *,
                    compile_now: bool = True) -> Rule:
    def fail(message: str, hint: str | None = None) -> CatalogueError:
        return CatalogueError(message, source, line, hint)

    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, sorted(_KEYS), n=1)
            raise fail(f'unknown key "{key}" in [[rule]]', f'did you mean "{close[0]}"?' if close else None)
    for key in _REQUIRED:
        if key not in table:
            raise fail(f'[[rule]] needs "{key}"')
    rule_id = table["id"]
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise fail(f"rule id {rule_id!r} must be kebab-case (a-z, 0-9, -)")
    description = _string(table, "description", fail)
    keywords = _strings(table, "keywords", fail)
    if not keywords:
        raise fail(f'rule "{rule_id}" needs at least one keyword (its regex runs only when one occurs)')
    for word in keywords:
        if not word or word != word.lower() or not word.isascii():
            raise fail(f'rule "{rule_id}": keyword {word!r} must be a non-empty lower-case ASCII literal')
    regex = fast_form(_string(table, "regex", fail)).encode("utf-8")
    if compile_now:
        _check_regex(regex, rule_id, fail)
    entropy, filters, priority, case_insensitive = _options(table, rule_id, fail)
    return Rule(id=rule_id, description=description, keywords=tuple(keywords), regex=regex,
                entropy=entropy, filters=filters, priority=priority, case_insensitive=case_insensitive,
                examples=tuple(_strings(table, "examples", fail)),
                counterexamples=tuple(_strings(table, "counterexamples", fail)),
                where=f"{source}:{line}" if line else source)


_Options = tuple[float | None, tuple[str, ...], int, bool]


def _options(table: Mapping[str, object], rule_id: str, fail) -> _Options:
    """The optional keys of a rule: entropy, filters, priority, case_insensitive."""
    entropy = table.get("entropy")
    if entropy is not None and (isinstance(entropy, bool) or not isinstance(entropy, int | float)
                                or not 0 <= entropy <= 8):
        raise fail(f'rule "{rule_id}": entropy must be a number of bits per character, 0 to 8')
    filters = _strings(table, "filters", fail)
    for name in filters:
        if name not in FILTERS:
            close = difflib.get_close_matches(name, sorted(FILTERS), n=1)
            raise fail(f'rule "{rule_id}": unknown filter "{name}"',
                       f'did you mean "{close[0]}"?' if close else "filters: " + ", ".join(sorted(FILTERS)))
    priority = table.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise fail(f'rule "{rule_id}": priority must be an integer')
    case_insensitive = table.get("case_insensitive", False)
    if not isinstance(case_insensitive, bool):
        raise fail(f'rule "{rule_id}": case_insensitive must be true or false')
    return float(entropy) if entropy is not None else None, tuple(filters), priority, case_insensitive


# `\bLITERAL` at the start of a regex hides the literal from the regex engine's fast
# search; the same condition checked just after the literal does not.
_LEADING_BOUNDARY = re.compile(r"^\\b(\(\?P<secret>)?([A-Za-z0-9_][A-Za-z0-9_-]*)(?![A-Za-z0-9_{*+?|-])")


def fast_form(regex: str) -> str:
    """`regex` with a leading `\\b` before a literal moved after it: the same matches, found faster.

    `\\bghp_...` becomes `ghp_(?<![A-Za-z0-9_]ghp_)...`: both say "no word character just
    before the `g`", but only the second starts with a literal the engine can search for.
    """
    match = _LEADING_BOUNDARY.match(regex)
    if not match:
        return regex
    group, literal = match.group(1) or "", match.group(2)
    return f"{group}{literal}(?<![A-Za-z0-9_]{literal}){regex[match.end():]}"


def _check_regex(regex: bytes, rule_id: str, fail) -> None:
    try:
        pattern = re.compile(regex)  # kept in re's own cache for Rule.pattern
    except re.error as error:
        raise fail(f'rule "{rule_id}": regex does not compile: {error}') from None
    if "secret" not in pattern.groupindex:
        raise fail(f'rule "{rule_id}": regex needs a named group (?P<secret>...) marking the secret')


def _string(table: Mapping[str, object], key: str, fail) -> str:
    value = table[key]
    if not isinstance(value, str) or not value:
        raise fail(f'"{key}" must be a non-empty string')
    return value


def _strings(table: Mapping[str, object], key: str, fail) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f'"{key}" must be a list of strings')
    return value


def _rule_lines(text: str) -> list[int]:
    """1-based line of each `[[rule]]` header, in order (tomli keeps no positions)."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[rule]]")]


def catalogue_text() -> tuple[str, str]:
    """(text, source) of the built-in catalogue."""
    try:
        entry = importlib.resources.files(CATALOGUE_PACKAGE) / CATALOGUE_FILE
        return entry.read_text("utf-8"), CATALOGUE_FILE
    except (ModuleNotFoundError, FileNotFoundError):
        # An uninstalled checkout: <repo>/jail/redact/rules.py -> <repo>/profiles
        path = Path(__file__).resolve().parents[2] / "profiles" / CATALOGUE_FILE
        return path.read_text("utf-8"), CATALOGUE_FILE


@functools.cache
def builtin_rules() -> tuple[Rule, ...]:
    """The built-in catalogue, parsed once per process."""
    text, source = catalogue_text()
    return parse_rules(text, source, compile_now=False)


def select_rules(extra_rules: Iterable[Rule] = (), disabled: Iterable[str] = frozenset(),
                 base: Iterable[Rule] | None = None) -> tuple[Rule, ...]:
    """The catalogue plus `extra_rules` (an extra rule with a built-in id replaces it), less `disabled`."""
    by_id = {rule.id: rule for rule in (builtin_rules() if base is None else base)}
    for rule in extra_rules:
        by_id[rule.id] = rule
    disabled = frozenset(disabled)
    unknown = sorted(disabled - by_id.keys())
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(by_id), n=1)
        hint = f'did you mean "{close[0]}"?' if close else "`jail scan --rules` lists them"
        raise CatalogueError(f'cannot disable unknown secret rule "{unknown[0]}"', hint=hint)
    return tuple(rule for rule_id, rule in by_id.items() if rule_id not in disabled)
