"""File policy: an event in, a verdict out, with the rule that decided. Pure.

Decision order (first match wins):
  1. a foreign process's /proc entry: deny;
  2. jail's own files: the state dir (audit log, trust store) is untouchable;
     the profile files in use and the config dir are read-only; nothing may
     move or delete a directory holding them, or hard-link them;
  3. files.deny (by pattern, or by inode for hard links found by the caller);
  4. reading: allowed unless a `readable` list exists and the path is outside
     it and outside the writable places;
  5. writing (write, create, delete): read_only wins, then writable places.
A hard link (LINK, decided on its source) must pass both 4 and 5: writing
through a new link to a file changes the original, so it needs write access.

Exec events are decided by jail/exec_policy.py (`Policy.decide_exec`), which
can also answer ASK: wait for a person.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from jail.profile.discover import config_dir, state_dir
from jail.profile.globs import RuleMatcher, glob_escape, normalize_path
from jail.profile.model import BUILTIN_SOURCE, DENY, READ_ONLY, READABLE, WRITABLE, Profile, Rule

if TYPE_CHECKING:
    from jail.exec_policy import ExecDecision, ExecEvent, ExecPolicy
    from jail.network.policy import NetworkPolicy

CACHE_SIZE = 65536

# What /proc/PID/fd/N shows for objects that are not files; the process
# already holds them, so there is nothing to decide.
_NOT_A_PATH = re.compile(
    r"\A(?:(?:pipe|socket):\[\d+\]|anon_inode:\S+"
    r"|(?:cgroup|ipc|mnt|net|pid|pid_for_children|time|time_for_children|user|uts):\[\d+\])\Z")


class Access(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DELETE = "delete"
    LINK = "link"


class Action(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    ASK = "ask"  # exec only: hold it until a person answers


MODIFY = frozenset({Access.WRITE, Access.CREATE, Access.DELETE})


@dataclass(frozen=True)
class FileEvent:
    access: Access
    path: str
    inode: tuple[int, int] | None = None  # (st_dev, st_ino) of the object opened
    is_dir: bool = False
    foreign_process: bool = False  # /proc/PID of a process outside the sandbox


@dataclass(frozen=True)
class Verdict:
    action: Action
    rule: Rule
    reason: str

    @property
    def allowed(self) -> bool:
        return self.action is Action.ALLOW


@dataclass(frozen=True)
class PolicyContext:
    home: Path  # the invoking person's home, for `~`
    state_dir: Path
    config_dir: Path
    protected_files: tuple[Path, ...] = ()
    protected_inodes: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    denied_inodes: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    # (deny literal, its real path) for denied places that are symlinks, such as
    # ~/.ssh -> ~/dotfiles/ssh: the supervisor decides on resolved paths, so the
    # real path must be denied too. The caller resolves; the policy stays pure.
    deny_aliases: tuple[tuple[str, str], ...] = ()
    # jail's other private places (the approval sockets): no access at all, like state_dir.
    private_dirs: tuple[Path, ...] = ()
    # jail's own terminal when the agent has a pty of jail's: the prompt is shown there.
    jail_terminal: Path | None = None

    @classmethod
    def for_person(cls, *, home: Path, env: Mapping[str, str],
                   protected_files: tuple[Path, ...] = ()) -> PolicyContext:
        """The usual context: XDG state and config dirs of the invoking person."""
        return cls(home=home, state_dir=state_dir(env, home), config_dir=config_dir(env, home),
                   protected_files=protected_files)


def _jail_rule(kind: str, pattern: str, reason: str) -> Rule:
    return Rule(f"jail.{kind}", pattern, BUILTIN_SOURCE, 0, reason)


FOREIGN_PROCESS = _jail_rule("foreign_process", "/proc/PID",
                             "/proc of a process outside the sandbox")
NOT_A_PATH = _jail_rule("not_a_path", "pipe:[*], socket:[*], anon_inode:*",
                        "not a file: an object the process already holds")
NOT_ABSOLUTE = _jail_rule("not_absolute", "*", "not an absolute path (refused to be safe)")
READ_DEFAULT = _jail_rule("read_default", "**", "everything not denied is readable")
OUTSIDE_READABLE = _jail_rule("outside_readable", "**", "outside the readable trees")
OUTSIDE_WRITABLE = _jail_rule("outside_writable", "**", "outside the writable places")
PROTECTED_INODE = _jail_rule("protected", "(inode)", "a profile file in use by this session")
DENIED_INODE = _jail_rule("denied_inode", "(inode)",
                          "another name (hard link) of a file a deny rule covers")


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")[1:]
    return ["/" + "/".join(parts[:end]) for end in range(len(parts))]


class Policy:
    def __init__(self, profile: Profile, ctx: PolicyContext) -> None:
        self.profile, self.ctx = profile, ctx
        home, workspace = ctx.home, profile.workspace
        self._deny = RuleMatcher(profile.deny, home=home, workspace=workspace)
        self._alias_of = self._aliases(profile, ctx)
        self._deny_aliases = RuleMatcher(list(self._alias_of), home=home, workspace=workspace)
        self._read_only = RuleMatcher(profile.read_only, home=home, workspace=workspace)
        self._writable = RuleMatcher(profile.writable, home=home, workspace=workspace,
                                     literal=True)
        self._readable = (None if profile.readable is None else
                          RuleMatcher(profile.readable, home=home, workspace=workspace))
        self._state = normalize_path(str(ctx.state_dir))
        self._config = normalize_path(str(ctx.config_dir))
        self._private = [(text, _jail_rule("private", text, "jail's approval sockets: the agent may not "
                                           "answer its own approvals"))
                         for text in (normalize_path(str(path)) for path in ctx.private_dirs)]
        if ctx.jail_terminal is not None:
            text = normalize_path(str(ctx.jail_terminal))
            self._private.append((text, _jail_rule("private", text, "jail's own terminal, where approvals "
                                                   "are asked: the agent has a terminal of its own")))
        self._state_rule = _jail_rule("state", self._state,
                                      "jail's own state (audit log, trust store)")
        self._config_rule = _jail_rule("config", self._config,
                                       "your jail configuration (read-only inside the sandbox)")
        self._protected = {
            text: _jail_rule("protected", text, "a profile file in use by this session")
            for text in (normalize_path(str(path)) for path in ctx.protected_files)}
        self._holders, self._rule_holders = self._directory_holders()
        self._decide_path = functools.lru_cache(maxsize=CACHE_SIZE)(self._decide_path_uncached)

    def _aliases(self, profile: Profile, ctx: PolicyContext) -> dict[Rule, Rule]:
        """Deny rules re-pointed at the real paths of symlinked denied places."""
        by_literal = {literal: rule for literal, rule
                      in zip(self._deny.literal_paths_all(), profile.deny, strict=True) if literal}
        aliases = {}
        for literal, real in ctx.deny_aliases:
            rule = by_literal.get(normalize_path(literal))
            if rule is not None:
                aliases[replace(rule, pattern=glob_escape(normalize_path(real)))] = rule
        return aliases

    def _directory_holders(self) -> tuple[dict[str, Rule], dict[str, Rule]]:
        """Directories that hold jail's files, and those that hold denied or
        read-only places, each mapped to the rule it would take along: moving
        or removing such a directory would carry its contents out of the rule's
        reach."""
        holders: dict[str, Rule] = {}
        for text, rule in [(self._state, self._state_rule), (self._config, self._config_rule),
                           *self._private, *self._protected.items()]:
            for parent in _ancestors(text):
                holders.setdefault(parent, rule)
        rule_holders: dict[str, Rule] = {}
        for matcher in (self._deny, self._deny_aliases, self._read_only):
            for prefix, rule in matcher.prefixes():
                for parent in [*_ancestors(prefix), prefix]:
                    rule_holders.setdefault(parent, self._alias_of.get(rule, rule))
        return holders, rule_holders

    @classmethod
    def from_profile(cls, profile: Profile, ctx: PolicyContext) -> Policy:
        return cls(profile, ctx)

    # -- decisions -------------------------------------------------------------

    def decide_file(self, event: FileEvent) -> Verdict:
        if event.foreign_process:
            return _deny(FOREIGN_PROCESS)
        access = Access(event.access)
        early, late = self._decide_path(access, event.path)
        if early is not None:
            return early
        if event.inode is not None:
            if event.inode in self.ctx.protected_inodes and access is not Access.READ:
                return _deny(PROTECTED_INODE, f"{PROTECTED_INODE.reason} (same file)")
            if late.rule.kind == DENY and late.action is Action.DENY:
                return late
            if event.inode in self.ctx.denied_inodes:
                return _deny(DENIED_INODE)
        return late

    def _decide_path_uncached(self, access: Access, raw: str) -> tuple[Verdict | None, Verdict]:
        """(jail's own protection if it applies, the profile's answer). Path-only: cacheable."""
        if not raw.startswith("/"):
            if _NOT_A_PATH.match(raw):
                return None, _allow(NOT_A_PATH)
            return _deny(NOT_ABSOLUTE), _deny(NOT_ABSOLUTE)
        path = normalize_path(raw)
        early = self._jail_files(access, path)
        return early, self._profile_rules(access, path)

    def _jail_files(self, access: Access, path: str) -> Verdict | None:  # noqa: PLR0911 (one guard per place)
        if _under(path, self._state):
            return _deny(self._state_rule)
        for private, rule in self._private:
            if _under(path, private):
                return _deny(rule)
        if access is Access.READ:
            return None
        protected = self._protected.get(path)
        if protected is not None:
            return _deny(protected)
        if _under(path, self._config):
            return _deny(self._config_rule)
        if access is Access.DELETE and path in self._holders:
            rule = self._holders[path]
            return _deny(rule, f"would move or remove {rule.pattern} ({rule.reason})")
        return None

    def _profile_rules(self, access: Access, path: str) -> Verdict:
        denied = self._deny.match(path)
        if denied is None:
            alias = self._deny_aliases.match(path)
            denied = self._alias_of[alias] if alias is not None else None
        if denied is not None:
            return _deny(denied, _reason(denied))
        if access is Access.DELETE and path in self._rule_holders:
            rule = self._rule_holders[path]
            return _deny(rule, f"would move or remove what {rule.kind} rule {rule.pattern} "
                               f"covers ({rule.where})")
        writable = self._writable.match(path)
        if access in (Access.READ, Access.LINK):
            verdict = self._read_verdict(path, writable)
            if access is Access.READ or verdict.action is Action.DENY:
                return verdict
        return self._write_verdict(access, path, writable)

    def _read_verdict(self, path: str, writable: Rule | None) -> Verdict:
        if writable is not None:
            return _allow(writable, "inside a writable place")
        if self._readable is None:
            return _allow(READ_DEFAULT)
        readable = self._readable.match(path)
        if readable is None:
            return _deny(OUTSIDE_READABLE)
        return _allow(readable, _reason(readable))

    def _write_verdict(self, access: Access, path: str, writable: Rule | None) -> Verdict:
        read_only = self._read_only.match(path)
        if read_only is not None:
            return _deny(read_only, _reason(read_only))
        if writable is None:
            if access is Access.LINK:
                return _deny(OUTSIDE_WRITABLE, "a hard link to a file outside the writable "
                             "places would let writes through the link change it")
            return _deny(OUTSIDE_WRITABLE)
        return _allow(writable, _reason(writable))

    # -- exec ------------------------------------------------------------------

    @functools.cached_property
    def exec_policy(self) -> ExecPolicy:
        from jail.exec_policy import ExecPolicy

        return ExecPolicy(self.profile.exec_rules, home=str(self.ctx.home),
                          writable=self.writable_roots())

    def decide_exec(self, event: ExecEvent) -> Verdict:
        """ALLOW, ASK or DENY for one exec, with the rule (see jail/exec_policy.py)."""
        return self.exec_policy.decide(event)

    def explain_exec(self, event: ExecEvent) -> ExecDecision:
        """The verdict with every rule that matched and the command each one matched."""
        return self.exec_policy.explain(event)

    # -- network -----------------------------------------------------------------

    @functools.cached_property
    def network(self) -> NetworkPolicy:
        """The [network] rules (see jail/network/policy.py)."""
        from jail.network.policy import NetworkPolicy

        return NetworkPolicy(self.profile.network, home=self.ctx.home, workspace=self.profile.workspace)

    # -- for the kernel layer ----------------------------------------------------

    def writable_roots(self) -> list[str]:
        """Absolute writable places, for the Landlock floor.

        A place that a deny or read_only rule covers entirely is left out: the
        kernel floor must never be looser than the rules.
        """
        roots = []
        for path in self._writable.literal_paths():
            if self._deny.match(path) is None and self._read_only.match(path) is None:
                roots.append(path)
        return sorted(set(roots))

    def deny_literals(self) -> list[str]:
        """Absolute deny paths without wildcards (the caller scans their inodes)."""
        return sorted(set(self._deny.literal_paths()))

    def cache_info(self) -> functools._CacheInfo:  # hits/misses, for tests and benchmarks
        return self._decide_path.cache_info()


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


_WHAT = {DENY: "denied by", READ_ONLY: "read-only by", WRITABLE: "inside writable place",
         READABLE: "inside readable tree"}


def _reason(rule: Rule) -> str:
    """The rule's own reason, or a sentence naming it."""
    return rule.reason or f'{_WHAT.get(rule.kind, rule.kind)} "{rule.pattern}"'


def _deny(rule: Rule, reason: str | None = None) -> Verdict:
    return Verdict(Action.DENY, rule, reason or rule.reason or "")


def _allow(rule: Rule, reason: str | None = None) -> Verdict:
    return Verdict(Action.ALLOW, rule, reason or rule.reason or "")
