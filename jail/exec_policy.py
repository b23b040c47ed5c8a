"""Exec policy: an exec event in, a verdict out (allow, ask, deny), with the rule. Pure.

An ExecEvent is what the exec gate reads at the ptrace exec event, where the
agent can no longer change it: the real path of the new image (/proc/PID/exe),
its argv as the kernel copied it, its cwd, the workspace, and the loader
variables in its environment.

What a rule matches (see jail/execrules/): the exec itself, and every command
it will run that can be read from its arguments (`sudo`, `env`, `timeout`,
`xargs`, `bash -c '... && terraform destroy'`, an interpreter running a script,
ld.so run directly). The final exec of each of those is checked again when it
happens; reading them early lets the prompt appear at the outer exec.

How rules combine:
  1. a `deny` that matches wins over everything, whatever its layer;
  2. an `ask` that matches is outweighed only by an `allow` that matches the
     same command, comes from the same or a later layer (layers: the catalogue,
     default, your own base, the project's files, in that order; a file that
     includes the catalogue comes after it), and names at least the options
     the ask names (`git push origin main` cannot stand in for
     `git push --force *`); otherwise the answer is ask;
  3. anything else is allowed (the file rules still apply to what it does).
  When several rules of one kind match, the one of the latest layer names the
  decision (the project's own words beat the catalogue's).
  Loader variables that put code into a gated program (LD_PRELOAD, LD_AUDIT,
  GCONV_PATH, code-loading NODE_OPTIONS/PERL5OPT/RUBYOPT, ld.so --preload or
  --audit) turn any ask or deny match into a deny, even one an allow outweighs:
  a person approving `terraform destroy -target=x` must get exactly that.

What cannot be decided by name: a *copy* of a binary under another name
(`cp terraform /tmp/x; /tmp/x destroy`) has neither the exe basename nor the
argv[0] of the tool. A rule can list the image's `sha256` digests; the gate
then hashes the image (only while some rule has digests) and the rule matches
whatever the name. Also beyond reach: shell aliases and functions, `eval`,
variables in command position, commands read from files (`psql -f x.sql`,
`curl -d @body.json`, `bash script.sh`'s contents) or stdin that is not written
out in the same `sh -c` string, and programs that do the destructive thing
themselves (a Python script calling an API). Those still meet the file rules.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from jail.execrules.conditions import CONDITIONS, Condition, Places
from jail.execrules.invocations import Invocation, display, invocations
from jail.execrules.names import basename, canonical
from jail.execrules.pattern import CommandPattern, glob_match, matches, names_options, parse_pattern
from jail.policy import Action, Verdict
from jail.profile.model import BUILTIN_SOURCE, EXEC_ALLOW, EXEC_ASK, EXEC_DENY, ExecRule, Rule

CACHE_SIZE = 4096
EXAMPLE_HOME = "/home/user"
EXAMPLE_WORKSPACE = "/home/user/project"
EXAMPLE_WRITABLE = ("/tmp",)  # noqa: S108 - a path examples are judged against, never opened

EXEC_DEFAULT = Rule("jail.exec_default", "*", BUILTIN_SOURCE, 0, "no exec rule matches")
LOADER_RULE = Rule("jail.exec_loader", "LD_PRELOAD, LD_AUDIT, GCONV_PATH, ld.so --preload",
                   BUILTIN_SOURCE, 0, "loader variables on a gated tool")
_CODE_LOADING = {"NODE_OPTIONS": re.compile(r"(?:^|\s)(?:-r|--require|--import|--loader|"
                                            r"--experimental-loader)\b"),
                 "PERL5OPT": re.compile(r"-[MmdI]"), "RUBYOPT": re.compile(r"-r")}
_ALWAYS_INJECTING = ("LD_PRELOAD", "LD_AUDIT", "GCONV_PATH")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class ExecEvent:
    exe: str  # real path of the new image, e.g. /usr/bin/terraform
    argv: tuple[str, ...]  # the new image's argv as the kernel copied it
    cwd: str
    workspace: str
    env: Mapping[str, str] = field(default_factory=dict)  # loader-relevant variables only
    exe_sha256: str | None = None  # only filled in when a rule lists digests

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", tuple(self.argv))

    def key(self) -> tuple:
        return (self.exe, self.argv, self.cwd, self.workspace, tuple(sorted(self.env.items())),
                self.exe_sha256)


@dataclass(frozen=True)
class RuleMatch:
    rule: ExecRule
    invocation: Invocation
    found: tuple[str, ...] = ()  # what the rule's conditions found


@dataclass(frozen=True)
class ExecDecision:
    verdict: Verdict
    invocation: Invocation | None  # the command the deciding rule matched
    matches: tuple[RuleMatch, ...]  # every rule that matched, in profile order
    invocations: tuple[Invocation, ...]  # the exec and every command read out of it

    @property
    def command(self) -> str:
        return display(self.invocation.argv) if self.invocation else ""


@dataclass(frozen=True)
class _Compiled:
    rule: ExecRule
    pattern: CommandPattern
    conditions: tuple[Condition, ...]


class ExecPolicy:
    def __init__(self, rules: Sequence[ExecRule], *, home: str,
                 writable: Sequence[str] = ()) -> None:
        self.home = home
        self.writable = tuple(writable)
        self.order = {rule: index for index, rule in enumerate(rules)}
        self._by_name: dict[str, list[_Compiled]] = {}
        self._globbed: list[_Compiled] = []
        self._hashed: list[_Compiled] = []
        for rule in rules:
            compiled = _Compiled(rule, parse_pattern(rule.pattern),
                                 tuple(CONDITIONS[name] for name in rule.when))
            if compiled.pattern.program_is_glob:
                self._globbed.append(compiled)
            else:
                for name in {compiled.pattern.program, canonical(compiled.pattern.program)}:
                    self._by_name.setdefault(name, []).append(compiled)
            if rule.sha256:
                self._hashed.append(compiled)
        self._explain = functools.lru_cache(maxsize=CACHE_SIZE)(self._explain_uncached)

    @property
    def needs_sha256(self) -> bool:
        """Must the gate hash each image (some rule names digests)?"""
        return bool(self._hashed)

    def decide(self, event: ExecEvent) -> Verdict:
        return self.explain(event).verdict

    def explain(self, event: ExecEvent) -> ExecDecision:
        return self._explain(event.key())

    # -- matching --------------------------------------------------------------

    def _candidates(self, inv: Invocation, sha256: str | None) -> list[_Compiled]:
        seen: dict[int, _Compiled] = {}
        for name in inv.names:
            for compiled in self._by_name.get(name, ()):
                seen.setdefault(id(compiled), compiled)
        for compiled in self._globbed:
            if any(glob_match(name, compiled.pattern.program) for name in inv.names):
                seen.setdefault(id(compiled), compiled)
        if sha256 and inv.is_image:
            for compiled in self._hashed:
                if sha256 in compiled.rule.sha256:
                    seen.setdefault(id(compiled), compiled)
        return sorted(seen.values(), key=lambda c: self.order[c.rule])

    def _match(self, compiled: _Compiled, inv: Invocation, places: Places) -> RuleMatch | None:
        program = compiled.pattern.program
        if compiled.pattern.program_is_glob:
            program = next((n for n in inv.names if glob_match(n, program)), program)
        if not matches(compiled.pattern, inv.arguments, canonical(program),
                       strict=compiled.rule.kind == EXEC_ALLOW):
            return None
        found = []
        for condition in compiled.conditions:
            what = condition(inv, places)
            if what is None:
                return None
            found.append(what)
        return RuleMatch(compiled.rule, inv, tuple(found))

    def _explain_uncached(self, key: tuple) -> ExecDecision:
        exe, argv, cwd, workspace, env, sha256 = key
        event = ExecEvent(exe, argv, cwd, workspace, dict(env), sha256)
        places = Places(self.home, event.workspace, self.writable)
        found = tuple(invocations(event.exe, event.argv, event.cwd, event.env, self.home))
        hits = [m for inv in found for c in self._candidates(inv, event.exe_sha256)
                if (m := self._match(c, inv, places)) is not None]
        hits.sort(key=lambda m: self.order[m.rule])
        decision = _combine(hits, found)
        return _loader_check(decision, hits)


def _latest(hits: Sequence[RuleMatch]) -> RuleMatch:
    """The match of the latest layer; the first in profile order among equals."""
    top = max(hit.rule.layer for hit in hits)
    return next(hit for hit in hits if hit.rule.layer == top)


def _combine(hits: list[RuleMatch], found: tuple[Invocation, ...]) -> ExecDecision:
    denies = [h for h in hits if h.rule.kind == EXEC_DENY]
    asks = [h for h in hits if h.rule.kind == EXEC_ASK]
    allows = [h for h in hits if h.rule.kind == EXEC_ALLOW]
    if denies:
        hit = _latest(denies)
        return ExecDecision(Verdict(Action.DENY, hit.rule, _reason(hit, "denied by")),
                            hit.invocation, tuple(hits), found)
    uncovered = [a for a in asks if _cover(a, allows) is None]
    if uncovered:
        hit = _latest(uncovered)
        return ExecDecision(Verdict(Action.ASK, hit.rule, _reason(hit, "needs approval by")),
                            hit.invocation, tuple(hits), found)
    if asks:
        ask = _latest(asks)
        allow = _cover(ask, allows)
        assert allow is not None
        reason = allow.rule.reason or (f'allowed by "{allow.rule.pattern}" ({allow.rule.where}), '
                                       f'over "{ask.rule.pattern}" ({ask.rule.where})')
        return ExecDecision(Verdict(Action.ALLOW, allow.rule, reason), allow.invocation,
                            tuple(hits), found)
    if allows:
        hit = _latest(allows)
        return ExecDecision(Verdict(Action.ALLOW, hit.rule, _reason(hit, "allowed by")),
                            hit.invocation, tuple(hits), found)
    return ExecDecision(Verdict(Action.ALLOW, EXEC_DEFAULT, EXEC_DEFAULT.reason or ""), None,
                        tuple(hits), found)


def _cover(ask: RuleMatch, allows: Sequence[RuleMatch]) -> RuleMatch | None:
    """An allow that outweighs this ask: same command, same or later layer, names its options."""
    program = canonical(parse_pattern(ask.rule.pattern).program)
    for allow in sorted(allows, key=lambda a: -a.rule.layer):
        if allow.invocation is ask.invocation and allow.rule.layer >= ask.rule.layer \
                and names_options(parse_pattern(allow.rule.pattern), parse_pattern(ask.rule.pattern),
                                  program):
            return allow
    return None


def _reason(hit: RuleMatch, verb: str) -> str:
    reason = hit.rule.reason or f'{verb} "{hit.rule.pattern}"'
    if hit.found:
        reason += f" ({'; '.join(hit.found)})"
    if hit.invocation.via:
        reason += f" — {display(hit.invocation.argv)} [{hit.invocation.how}]"
    return reason


def injected(env: Sequence[tuple[str, str]]) -> list[str]:
    """Names of the variables that load code into the program they are set for."""
    names = []
    for name, value in env:
        if not value:
            continue
        if name in _ALWAYS_INJECTING or (name in _CODE_LOADING and _CODE_LOADING[name].search(value)):
            names.append(name)
    return names


def _loader_check(decision: ExecDecision, hits: list[RuleMatch]) -> ExecDecision:
    for hit in hits:
        if hit.rule.kind == EXEC_ALLOW:
            continue
        names = injected(hit.invocation.env)
        if names:
            reason = (f"{LOADER_RULE.reason}: {', '.join(names)} set for "
                      f"{display(hit.invocation.argv)}, which {hit.rule.where} gates "
                      f"(\"{hit.rule.pattern}\")")
            return ExecDecision(Verdict(Action.DENY, LOADER_RULE, reason), hit.invocation,
                                decision.matches, decision.invocations)
    return decision


# -- examples (`jail check`) ----------------------------------------------------------


def example_event(text: str) -> ExecEvent:
    """An example command line as an exec in EXAMPLE_WORKSPACE (`NAME=value` words set env)."""
    words = shlex.split(text)
    env = {}
    while len(words) > 1 and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program = words[0]
    exe = program if program.startswith("/") else "/usr/bin/" + basename(program)
    return ExecEvent(exe, tuple(words), EXAMPLE_WORKSPACE, EXAMPLE_WORKSPACE, env)


def rule_covers(rule: ExecRule, example: str) -> bool:
    """Does this rule alone match the example command?"""
    policy = ExecPolicy([rule], home=EXAMPLE_HOME, writable=EXAMPLE_WRITABLE)
    return bool(policy.explain(example_event(example)).matches)
