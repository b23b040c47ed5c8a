"""Check one profile file against the schema and turn it into rules with lines.

Every problem becomes a ProfileError naming file and line; all problems in a
file are collected so `jail check` can list them together.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import shlex
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import tomli

from jail.errors import JailError, ProfileError
from jail.execrules.conditions import CONDITIONS
from jail.execrules.pattern import PatternError, parse_pattern
from jail.profile.globs import GLOB_CHARS, GlobError, check_glob, has_glob_chars
from jail.profile.locate import KeyPath, line_of, locate
from jail.profile.model import (
    APPROVAL_FALLBACKS,
    DENY,
    EXEC_ALLOW,
    EXEC_ASK,
    EXEC_DENY,
    NET_DEFAULTS,
    READ_ONLY,
    READABLE,
    REDACT_ALWAYS,
    REDACT_DISABLE,
    REDACT_NEVER,
    REDACT_PASSTHROUGH,
    WRITABLE,
    ExecRule,
    NetworkRule,
    NetworkSettings,
    RedactSettings,
    Rule,
)

TOP_KEYS = ("extends", "description", "workspace", "files", "exec", "redact", "network", "approval")
SECTION_KEYS = {"workspace": ("writable",), "files": ("deny", "read_only", "readable")}
RULE_KEYS = ("path", "reason", "match", "no_match")
EXEC_KEYS = ("catalogue", "deny", "ask", "allow")
EXEC_RULE_KEYS = ("command", "reason", "when", "match", "no_match", "sha256")
EXEC_KIND_OF = {"deny": EXEC_DENY, "ask": EXEC_ASK, "allow": EXEC_ALLOW}
# Sections the design describes but this version does not enforce. Rejecting
# them beats ignoring them: a person who writes [network] expects it to work.
RESERVED = {("files",): ("redact",)}
APPROVAL_KEYS = ("timeout", "when_no_one_answers")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h)?\Z")
_UNIT = {None: 1, "s": 1, "m": 60, "h": 3600}
REDACT_KEYS = ("passthrough", "always", "never", "disable", "rule")
REDACT_ENTRY_KEYS = {"passthrough": "name", "disable": "id"}  # the table form's main key
_ENV_NAME_GLOB = re.compile(r"[A-Za-z_*?\[\]!][A-Za-z0-9_*?\[\]!-]*\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
KIND_OF = {("workspace", "writable"): WRITABLE, ("files", "deny"): DENY,
           ("files", "read_only"): READ_ONLY, ("files", "readable"): READABLE,
           ("redact", "always"): REDACT_ALWAYS, ("redact", "never"): REDACT_NEVER}

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)\s*$")


class CombinedProfileError(ProfileError):
    """Several problems at once; the message names the first, `errors` lists all."""

    def __init__(self, errors: list[ProfileError]) -> None:
        first = errors[0]
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        JailError.__init__(self, f"{first}{suffix}", first.hint)
        self.source, self.line, self.errors = first.source, first.line, list(errors)


@dataclass(frozen=True)
class ParsedApproval:
    """One file's [approval] values; None where the file does not say."""

    timeout: float | None = None
    fallback: str | None = None
    timeout_where: str = ""
    fallback_where: str = ""


@dataclass(frozen=True)
class ParsedFile:
    """One profile file, checked, before `extends` is followed."""

    source: str  # display name used in rules and errors
    path: Path | None  # the real file, if there is one
    extends: tuple[tuple[str, int], ...] | None  # (reference, line); None = key absent
    description: str
    writable: tuple[Rule, ...]
    deny: tuple[Rule, ...]
    read_only: tuple[Rule, ...]
    readable: tuple[Rule, ...] | None  # None = key absent
    exec_rules: tuple[ExecRule, ...] = ()
    catalogue: bool | None = None  # [exec] catalogue; None = key absent
    catalogue_line: int = 0
    redact: RedactSettings = dataclasses.field(default_factory=RedactSettings)
    network: NetworkSettings = dataclasses.field(default_factory=NetworkSettings)
    approval: ParsedApproval = dataclasses.field(default_factory=ParsedApproval)


def parse_text(text: str, source: str, path: Path | None = None) -> ParsedFile:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as error:
        message = str(error.msg if hasattr(error, "msg") else error)
        found = _TOML_POSITION.search(message)
        line = getattr(error, "lineno", None) or (int(found.group(1)) if found else None)
        message = _TOML_POSITION.sub("", message)
        raise ProfileError(f"invalid TOML: {message}", source, line or 1) from None
    return _Checker(source, path, data, locate(text)).check()


def type_name(value: Any) -> str:
    names = [(bool, "a boolean"), (str, "a string"), (int, "an integer"), (float, "a number"),
             (list, "an array"), (dict, "a table"), (datetime, "a date-time"),
             (date, "a date"), (time, "a time")]
    return next((name for kind, name in names if isinstance(value, kind)), "a value")


def suggest(key: str, candidates: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return "expected one of: " + ", ".join(candidates)


def _dotted(path: KeyPath) -> str:
    return ".".join(str(part) for part in path if isinstance(part, str))


class _Checker:
    def __init__(self, source: str, path: Path | None, data: dict[str, Any],
                 positions: dict[KeyPath, int]) -> None:
        self.source, self.path, self.data, self.positions = source, path, data, positions
        self.errors: list[ProfileError] = []

    def error(self, message: str, at: KeyPath, hint: str | None = None) -> None:
        self.errors.append(ProfileError(message, self.source, self.line(at), hint))

    def line(self, at: KeyPath) -> int:
        """The line of `at`; for a [[table]] entry, whose own path is not recorded,
        the first line of its contents."""
        if at in self.positions:
            return self.positions[at]
        first = self._first_lines()
        return first[at] if at in first else line_of(self.positions, at)

    def _first_lines(self) -> dict[KeyPath, int]:
        """The first line under every key-path prefix, built once: a catalogue of
        [[tables]] asks for many of them, and scanning every position per ask
        made loading quadratic."""
        index = getattr(self, "_first", None)
        if index is None:
            index = {}
            for path, line in self.positions.items():
                for end in range(1, len(path)):
                    prefix = path[:end]
                    if line < index.get(prefix, line + 1):
                        index[prefix] = line
            self._first = index
        return index

    def check(self) -> ParsedFile:
        self.check_keys((), self.data, TOP_KEYS)
        extends = self.check_extends()
        description = self.data.get("description", "")
        if not isinstance(description, str):
            self.error(f'"description" must be a string, not {type_name(description)}',
                       ("description",))
            description = ""
        rules: dict[str, tuple[Rule, ...] | None] = {}
        for section, keys in SECTION_KEYS.items():
            table = self.data.get(section, {})
            if not isinstance(table, dict):
                self.error(f'"{section}" must be a table ([{section}]), not {type_name(table)}',
                           (section,))
                table = {}
            self.check_keys((section,), table, keys)
            for key in keys:
                value = table.get(key)
                kind = KIND_OF[(section, key)]
                rules[kind] = None if value is None else self.check_rules((section, key), value)
        exec_rules, catalogue = self.check_exec()
        redact = self.check_redact()
        network = check_network(self)
        approval = self.check_approval()
        if self.errors:
            raise self.errors[0] if len(self.errors) == 1 else CombinedProfileError(self.errors)
        return ParsedFile(self.source, self.path, extends, description,
                          rules[WRITABLE] or (), rules[DENY] or (), rules[READ_ONLY] or (),
                          rules[READABLE], exec_rules, catalogue,
                          line_of(self.positions, ("exec", "catalogue")) if catalogue else 0, redact,
                          network, approval)

    # -- [approval] --------------------------------------------------------------

    def check_approval(self) -> ParsedApproval:
        table = self.data.get("approval", {})
        if not isinstance(table, dict):
            self.error(f'"approval" must be a table ([approval]), not {type_name(table)}', ("approval",))
            return ParsedApproval()
        self.check_keys(("approval",), table, APPROVAL_KEYS)
        timeout = fallback = None
        if "timeout" in table:
            value, at = table["timeout"], ("approval", "timeout")
            found = _DURATION.match(value.strip()) if isinstance(value, str) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                timeout = float(value)
            elif found:
                timeout = float(found.group(1)) * _UNIT[found.group(2)]
            if timeout is None or not 0 < timeout <= 7 * 24 * 3600:
                self.error(f'"approval.timeout" must be a duration such as "120s", "5m" or 90, '
                           f'not {value!r}', at)
                timeout = None
        if "when_no_one_answers" in table:
            value, at = table["when_no_one_answers"], ("approval", "when_no_one_answers")
            if value not in APPROVAL_FALLBACKS:
                self.error(f'"approval.when_no_one_answers" must be "deny" or "allow", not {value!r}', at)
            else:
                fallback = value
        where = {key: f"{self.source}:{self.line(('approval', key))}"
                 for key in APPROVAL_KEYS if key in table}
        return ParsedApproval(timeout, fallback, where.get("timeout", ""),
                              where.get("when_no_one_answers", ""))

    # -- [redact] ----------------------------------------------------------------

    def check_redact(self) -> RedactSettings:
        table = self.data.get("redact", {})
        if not isinstance(table, dict):
            self.error(f'"redact" must be a table ([redact]), not {type_name(table)}', ("redact",))
            return RedactSettings()
        self.check_keys(("redact",), table, REDACT_KEYS)
        paths = {key: self.check_rules(("redact", key), table[key]) if key in table else ()
                 for key in ("always", "never")}
        return RedactSettings(
            passthrough=self.check_redact_names("passthrough", REDACT_PASSTHROUGH,
                                                table.get("passthrough", [])),
            always=paths["always"], never=paths["never"],
            disable=self.check_redact_names("disable", REDACT_DISABLE, table.get("disable", [])),
            rules=self.check_secret_rules(table.get("rule", [])),
        )

    def check_redact_names(self, key: str, kind: str, value: Any) -> tuple[Rule, ...]:
        """passthrough (variable names, globs allowed) and disable (rule ids):
        strings or { name|id = "...", reason = "..." } tables."""
        at: KeyPath = ("redact", key)
        main = REDACT_ENTRY_KEYS[key]
        if not isinstance(value, list):
            self.error(f'"redact.{key}" must be an array, not {type_name(value)}', at)
            return ()
        rules = []
        for index, item in enumerate(value):
            here = (*at, index)
            reason = None
            name = item
            if isinstance(item, dict):
                self.check_keys(here, item, (main, "reason"))
                reason = item.get("reason") if isinstance(item.get("reason"), str) else None
                name = item.get(main)
            if not isinstance(name, str) or not name:
                self.error(f'each "redact.{key}" entry must be a non-empty string or a table '
                           f'{{ {main} = "...", reason = "..." }}', here)
                continue
            if key == "passthrough" and not _ENV_NAME_GLOB.match(name):
                self.error(f'"{item}" is not an environment variable name (globs * ? [] allowed)', here)
                continue
            rules.append(Rule(kind, name, self.source, self.line(here), reason))
        return tuple(rules)

    def check_secret_rules(self, value: Any) -> tuple:
        """[[redact.rule]] tables, in the catalogue's own format (profiles/secrets.toml)."""
        at: KeyPath = ("redact", "rule")
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.error('"redact.rule" must be an array of tables ([[redact.rule]])', at)
            return ()
        from jail.redact.rules import CatalogueError, rule_from_table

        rules = []
        for index, table in enumerate(value):
            line = self.line((*at, index))
            try:
                rules.append(rule_from_table(table, self.source, line))
            except CatalogueError as error:  # already names this file and line
                self.errors.append(error)
        return tuple(rules)

    # -- [exec] ------------------------------------------------------------------

    def check_exec(self) -> tuple[tuple[ExecRule, ...], bool | None]:
        table = self.data.get("exec", {})
        if not isinstance(table, dict):
            self.error(f'"exec" must be a table ([exec]), not {type_name(table)}', ("exec",))
            return (), None
        self.check_keys(("exec",), table, EXEC_KEYS)
        catalogue = table.get("catalogue")
        if catalogue is not None and not isinstance(catalogue, bool):
            self.error(f'"exec.catalogue" must be true or false, not {type_name(catalogue)}',
                       ("exec", "catalogue"), "catalogue = true includes the built-in catalogue "
                       "of destructive commands")
            catalogue = None
        rules: list[ExecRule] = []
        for key in ("deny", "ask", "allow"):
            value = table.get(key)
            if value is None:
                continue
            at: KeyPath = ("exec", key)
            if not isinstance(value, list):
                self.error(f'"exec.{key}" must be an array of commands, not {type_name(value)}', at,
                           f'write {key} = ["terraform destroy *"]')
                continue
            for index, item in enumerate(value):
                rule = self.check_exec_rule(key, index, item)
                if rule is not None:
                    rules.append(rule)
        rules.sort(key=lambda rule: rule.line)
        return tuple(rules), catalogue

    def check_exec_rule(self, key: str, index: int, item: Any) -> ExecRule | None:
        here: KeyPath = ("exec", key, index)
        reason: str | None = None
        fields: dict[str, tuple[str, ...]] = {"when": (), "sha256": (), "match": (), "no_match": ()}
        if isinstance(item, dict):
            table = self.check_exec_table(key, here, item, fields)
            if table is None:
                return None
            command, reason = table
        elif isinstance(item, str):
            command = item
        else:
            self.error(f'each entry in "exec.{key}" must be a command or a table '
                       f'{{ command = "...", reason = "..." }}, not {type_name(item)}', here)
            return None
        ok = self.check_command(command, here)
        for name in fields["when"]:
            if name not in CONDITIONS:
                self.error(f'unknown condition "{name}"', (*here, "when"),
                           suggest(name, tuple(CONDITIONS)))
                ok = False
        for digest in fields["sha256"]:
            if not _SHA256.match(digest):
                self.error(f'"{digest}" is not a sha256 digest (64 lowercase hex digits)',
                           (*here, "sha256"))
                ok = False
        for field in ("match", "no_match"):
            for example in fields[field]:
                ok = self.check_command(example, (*here, field), example=True) and ok
        if not ok:
            return None
        return ExecRule(EXEC_KIND_OF[key], command, self.source, self.line(here), reason,
                        fields["match"], fields["no_match"], when=fields["when"],
                        sha256=fields["sha256"])

    def check_exec_table(self, key: str, here: KeyPath, item: dict[str, Any],
                         fields: dict[str, tuple[str, ...]]) -> tuple[str, str | None] | None:
        """(command, reason) of `{ command = "...", ... }`; fills in the list fields."""
        self.check_keys(here, item, EXEC_RULE_KEYS)
        command = item.get("command")
        if command is None:
            self.error(f'a rule table in "exec.{key}" needs a "command"', here,
                       '{ command = "terraform destroy *", reason = "deletes infrastructure" }')
            return None
        if not isinstance(command, str):
            self.error(f'"command" must be a string, not {type_name(command)}', (*here, "command"))
            return None
        reason = item.get("reason")
        if reason is not None and not isinstance(reason, str):
            self.error(f'"reason" must be a string, not {type_name(reason)}', (*here, "reason"))
            reason = None
        for field in fields:
            fields[field] = self.check_strings((*here, field), item.get(field, []),
                                               allow_single=field == "when")
        return command, reason

    def check_strings(self, at: KeyPath, value: Any, *, allow_single: bool) -> tuple[str, ...]:
        if allow_single and isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(f'"{at[-1]}" must be an array of strings, not {type_name(value)}', at)
            return ()
        good = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                shown = type_name(item) if item != "" else "an empty string"
                self.error(f'each "{at[-1]}" entry must be a non-empty string, not {shown}',
                           (*at, index))
            else:
                good.append(item)
        return tuple(good)

    def check_command(self, command: str, at: KeyPath, *, example: bool = False) -> bool:
        try:
            if example:
                if not shlex.split(command):
                    raise PatternError("empty command")
            else:
                parse_pattern(command)
        except (PatternError, ValueError) as error:
            what = "example" if example else "command"
            self.error(f'bad {what} "{command}": {error}', at)
            return False
        return True

    def check_keys(self, at: KeyPath, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        reserved = RESERVED.get(at, ())
        where = f" in [{_dotted(at)}]" if at else ""
        for key in table:
            if key in allowed:
                continue
            if key in reserved:
                name = f"[{_dotted((*at, key))}]" if not at else f'"{_dotted((*at, key))}"'
                self.error(f"{name} is not supported yet", (*at, key),
                           "remove it: this version of jail does not enforce it")
            else:
                self.error(f'unknown key "{key}"{where}', (*at, key),
                           suggest(key, allowed + reserved))

    def check_extends(self) -> tuple[tuple[str, int], ...] | None:
        if "extends" not in self.data:
            return None
        value = self.data["extends"]
        if not isinstance(value, list):
            self.error(f'"extends" must be an array of profile names or paths, '
                       f'not {type_name(value)}', ("extends",), 'write extends = ["default"]')
            return ()
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                self.error(f'each "extends" entry must be a profile name or a path, '
                           f'not {type_name(item) if item != "" else "an empty string"}',
                           ("extends", index))
                continue
            result.append((item, line_of(self.positions, ("extends", index))))
        return tuple(result)

    def check_rules(self, at: KeyPath, value: Any) -> tuple[Rule, ...]:
        name = _dotted(at)
        if not isinstance(value, list):
            self.error(f'"{name}" must be an array of paths, not {type_name(value)}', at,
                       f'write {at[-1]} = ["..."]')
            return ()
        rules = []
        for index, item in enumerate(value):
            rule = self.check_rule(at, index, item)
            if rule is not None:
                rules.append(rule)
        return tuple(rules)

    def check_rule(self, at: KeyPath, index: int, item: Any) -> Rule | None:
        here = (*at, index)
        kind = KIND_OF[(str(at[0]), str(at[1]))]
        reason: str | None = None
        examples: dict[str, tuple[str, ...]] = {"match": (), "no_match": ()}
        if isinstance(item, dict):
            self.check_keys(here, item, RULE_KEYS)
            pattern = item.get("path")
            if pattern is None:
                self.error(f'a rule table in "{_dotted(at)}" needs a "path"', here,
                           '{ path = "~/.aws", reason = "AWS credentials" }')
                return None
            if not isinstance(pattern, str):
                self.error(f'"path" must be a string, not {type_name(pattern)}', (*here, "path"))
                return None
            reason = item.get("reason")
            if reason is not None and not isinstance(reason, str):
                self.error(f'"reason" must be a string, not {type_name(reason)}',
                           (*here, "reason"))
                reason = None
            for key in examples:
                examples[key] = self.check_examples((*here, key), item.get(key, []))
        elif isinstance(item, str):
            pattern = item
        else:
            self.error(f'each entry in "{_dotted(at)}" must be a path or a table '
                       f'{{ path = "...", reason = "..." }}, not {type_name(item)}', here)
            return None
        if not self.check_pattern(kind, pattern, here):
            return None
        return Rule(kind, pattern, self.source, line_of(self.positions, here), reason,
                    examples["match"], examples["no_match"])

    def check_examples(self, at: KeyPath, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.error(f'"{at[-1]}" must be an array of example paths, not {type_name(value)}',
                       at)
            return ()
        good = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                shown = type_name(item) if item != "" else "an empty string"
                self.error(f'each "{at[-1]}" example must be a path, not {shown}', (*at, index))
            elif item.startswith("~") and item != "~" and not item.startswith("~/"):
                self.error(f'example "{item}": `~user` is not supported', (*at, index))
            else:
                good.append(item)
        return tuple(good)

    def check_pattern(self, kind: str, pattern: str, at: KeyPath) -> bool:
        if not pattern:
            self.error("empty path", at)
            return False
        if kind == WRITABLE:
            if has_glob_chars(pattern):
                bad = next(ch for ch in pattern if ch in GLOB_CHARS)
                self.error(f'writable places are plain paths, but "{pattern}" contains "{bad}"',
                           at, "list the directory itself; carve out parts of it with "
                           "[files] read_only or deny")
                return False
            if pattern.startswith("~") and pattern != "~" and not pattern.startswith("~/"):
                self.error(f'"{pattern}": `~user` is not supported', at,
                           "write the path out, or use ~/ for your own home")
                return False
            return True
        try:
            check_glob(pattern)
        except GlobError as error:
            self.error(f'bad pattern "{pattern}": {error}', at)
            return False
        return True


# -- [network] -----------------------------------------------------------------

NETWORK_KEYS = ("default", "allow", "ask", "deny")
NETWORK_RULE_KEYS = ("host", "unix", "reason", "match", "no_match")
NET_KIND_OF = {"deny": "network.deny", "ask": "network.ask", "allow": "network.allow"}


def check_network(checker: _Checker) -> NetworkSettings:
    """[network]: default = "allow|ask|deny", and allow/ask/deny lists of
    destinations ("host:port", "10.0.0.0/8") or tables { host | unix, reason, match, no_match }."""
    table = checker.data.get("network", {})
    if not isinstance(table, dict):
        checker.error(f'"network" must be a table ([network]), not {type_name(table)}', ("network",))
        return NetworkSettings()
    checker.check_keys(("network",), table, NETWORK_KEYS)
    default = table.get("default")
    default_where = ""
    if default is not None:
        if default not in NET_DEFAULTS:
            checker.error(f'"network.default" must be one of "allow", "ask", "deny", not {default!r}',
                          ("network", "default"), suggest(str(default), NET_DEFAULTS))
            default = None
        else:
            default_where = f"{checker.source}:{checker.line(('network', 'default'))}"
    rules: list[NetworkRule] = []
    for key in ("deny", "ask", "allow"):
        value = table.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            checker.error(f'"network.{key}" must be an array of destinations, not {type_name(value)}',
                          ("network", key), f'write {key} = ["github.com:443", "10.0.0.0/8"]')
            continue
        for index, item in enumerate(value):
            rule = _network_rule(checker, key, index, item)
            if rule is not None:
                rules.append(rule)
    rules.sort(key=lambda rule: rule.line)
    return NetworkSettings(tuple(rules), default, default_where)


def _network_rule(checker: _Checker, key: str, index: int, item: Any) -> NetworkRule | None:
    from jail.network.rules import DestinationError, parse_destination

    here: KeyPath = ("network", key, index)
    reason, unix = None, False
    examples: dict[str, tuple[str, ...]] = {"match": (), "no_match": ()}
    if isinstance(item, dict):
        checker.check_keys(here, item, NETWORK_RULE_KEYS)
        if ("host" in item) == ("unix" in item):
            checker.error(f'a rule table in "network.{key}" needs exactly one of "host" or "unix"', here,
                          '{ host = "api.example.com:443", reason = "..." } or '
                          '{ unix = "/var/run/docker.sock", reason = "..." }')
            return None
        unix = "unix" in item
        pattern = item["unix" if unix else "host"]
        reason = item.get("reason")
        if reason is not None and not isinstance(reason, str):
            checker.error(f'"reason" must be a string, not {type_name(reason)}', (*here, "reason"))
            reason = None
        for field in examples:
            examples[field] = checker.check_strings((*here, field), item.get(field, []), allow_single=False)
    else:
        pattern = item
    if not isinstance(pattern, str):
        checker.error(f'each entry in "network.{key}" must be a destination such as "github.com:443" '
                      f'or a table {{ host = "...", reason = "..." }}, not {type_name(pattern)}', here)
        return None
    try:
        if unix:
            if not pattern.startswith(("/", "~/", "**")):
                raise DestinationError(f'unix socket rule "{pattern}" must be an absolute path glob')
            check_glob(pattern)
        else:
            parse_destination(pattern)
        _check_network_examples(examples, unix)
    except (DestinationError, GlobError) as error:
        checker.error(f"bad network rule: {error}", here)
        return None
    return NetworkRule(NET_KIND_OF[key], pattern, checker.source, checker.line(here), reason,
                       examples["match"], examples["no_match"], unix=unix)


def _check_network_examples(examples: dict[str, tuple[str, ...]], unix: bool) -> None:
    from jail.network.rules import DestinationError, parse_example

    wanted = "a unix socket path" if unix else "HOST:PORT"
    for field, found in examples.items():
        for example in found:
            if unix != (parse_example(example).unix is not None):
                raise DestinationError(f'{field} example "{example}": {wanted} is expected for this rule')
