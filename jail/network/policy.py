"""Network policy: a destination in, a verdict out (allow, ask, deny), with the rule. Pure.

How rules combine (the same way as [exec] rules):
  1. jail's own rules first: the sandbox may always reach jail's proxy;
  2. a `deny` that matches wins, whatever its layer: a project can never lift a
     denial of the built-in profiles or of your own base;
  3. an `ask` that matches is outweighed only by an `allow` that matches from the
     same or a later layer (layers: default, your own base, the project's files),
     so `allow = ["github.com:443"]` next to `ask = ["*"]` means what it says;
  4. nothing matches: `default` (the strictest any layer set; "ask" if none did).
     A unix socket that no unix rule names is allowed: it was already decided
     as a file read by the [files] rules.
A host name and its address are one destination for the proxy: a rule on the
name or on the address matches, and a denied address stays denied under any
name that resolves to it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jail.network.rules import Destination, Pattern, parse_destination
from jail.policy import Action, Verdict
from jail.profile.globs import RuleMatcher
from jail.profile.model import BUILTIN_SOURCE, NET_ALLOW, NET_ASK, NET_DENY, NetworkRule, NetworkSettings

CACHE_SIZE = 4096
_ACTION_OF = {NET_DENY: Action.DENY, NET_ASK: Action.ASK, NET_ALLOW: Action.ALLOW}
UNIX_DEFAULT = NetworkRule("jail.net_unix_default", "**", BUILTIN_SOURCE, 0,
                           "no unix rule names this socket (decided as a file read)", unix=True)


def jail_rule(pattern: str, reason: str) -> NetworkRule:
    return NetworkRule("jail.net", pattern, BUILTIN_SOURCE, 0, reason)


@dataclass(frozen=True)
class NetworkDecision:
    verdict: Verdict
    matches: tuple[NetworkRule, ...]  # every rule that matched, in profile order


class NetworkPolicy:
    def __init__(self, settings: NetworkSettings, *, home: Path, workspace: Path,
                 implicit: Sequence[NetworkRule] = ()) -> None:
        self.settings = settings
        self._home, self._workspace = home, workspace
        self._implicit = [(rule, parse_destination(rule.pattern)) for rule in implicit]
        self._by_address: list[tuple[NetworkRule, Pattern]] = [
            (rule, parse_destination(rule.pattern)) for rule in settings.rules if not rule.unix]
        unix = [rule for rule in settings.rules if rule.unix]
        self._unix = [(rule, RuleMatcher([rule], home=home, workspace=workspace)) for rule in unix]
        action = Action(settings.default or "ask")
        where_source, _, where_line = (settings.default_where or BUILTIN_SOURCE).rpartition(":")
        self._default = NetworkRule(
            "jail.net_default", "*", where_source if where_line.isdigit() else BUILTIN_SOURCE,
            int(where_line) if where_line.isdigit() else 0,
            f'no network rule matches (default = "{action.value}")')
        self._default_action = action
        self._explain = functools.lru_cache(maxsize=CACHE_SIZE)(self._explain_uncached)

    def with_implicit(self, rules: Sequence[NetworkRule]) -> NetworkPolicy:
        """The same policy with jail's own rules (the proxy's address) in front."""
        return NetworkPolicy(self.settings, home=self._home, workspace=self._workspace,
                             implicit=[*(rule for rule, _ in self._implicit), *rules])

    def decide(self, dest: Destination) -> Verdict:
        return self._explain(dest).verdict

    def explain(self, dest: Destination) -> NetworkDecision:
        return self._explain(dest)

    def _explain_uncached(self, dest: Destination) -> NetworkDecision:
        for rule, pattern in self._implicit:
            if pattern.matches(dest):
                return NetworkDecision(Verdict(Action.ALLOW, rule, rule.reason or ""), (rule,))
        if dest.unix is not None:
            matched = tuple(rule for rule, matcher in self._unix if matcher.match(dest.unix) is not None)
            fallback = Verdict(Action.ALLOW, UNIX_DEFAULT, UNIX_DEFAULT.reason or "")
        else:
            matched = tuple(rule for rule, pattern in self._by_address if pattern.matches(dest))
            fallback = Verdict(self._default_action, self._default, self._default.reason or "")
        return NetworkDecision(_combine(matched) or fallback, matched)


def _combine(matched: tuple[NetworkRule, ...]) -> Verdict | None:
    if not matched:
        return None
    by_kind: dict[str, list[NetworkRule]] = {NET_DENY: [], NET_ASK: [], NET_ALLOW: []}
    for rule in matched:
        by_kind[rule.kind].append(rule)
    if by_kind[NET_DENY]:
        return _verdict(by_kind[NET_DENY][-1])
    asks, allows = by_kind[NET_ASK], by_kind[NET_ALLOW]
    if asks and (not allows or max(r.layer for r in asks) > max(r.layer for r in allows)):
        return _verdict(max(asks, key=lambda r: r.layer))
    return _verdict(max(allows, key=lambda r: r.layer))


def _verdict(rule: NetworkRule) -> Verdict:
    what = {NET_DENY: "denied by", NET_ASK: "asked by", NET_ALLOW: "allowed by"}[rule.kind]
    return Verdict(_ACTION_OF[rule.kind], rule, rule.reason or f'{what} "{rule.pattern}"')
