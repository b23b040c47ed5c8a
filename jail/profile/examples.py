"""Run the `match` / `no_match` examples each rule carries, against that rule alone.

This is how a profile tests itself: `jail check` fails when a rule does not
cover what its author said it covers, or covers what it should not. File rule
examples are paths; exec rule examples are command lines, run as an exec in a
fixed example workspace (see jail/exec_policy.py, `example_event`). Secret
rules of [[redact.rule]] run their `examples` and `counterexamples` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jail.profile.globs import RuleMatcher, normalize_path
from jail.profile.model import WRITABLE, Profile, Rule


@dataclass(frozen=True)
class ExampleFailure:
    rule: Rule
    example: str
    expected: bool  # True: the rule should have covered the example

    def __str__(self) -> str:
        verb = "should cover" if self.expected else "should not cover"
        actual = "it does not" if self.expected else "it does"
        return f'{self.rule.pattern} {verb} example "{self.example}", but {actual}'


def example_path(example: str, *, home: Path, workspace: Path) -> str:
    """An example is a plain path (no wildcards): `~/...`, absolute, or workspace-relative."""
    if example == "~" or example.startswith("~/"):
        text = str(home) + example[1:]
    elif example.startswith("/"):
        text = example
    else:
        text = f"{workspace}/{example}"
    return normalize_path(text)


def run_examples(profile: Profile, *, home: Path) -> tuple[int, list[ExampleFailure]]:
    """(number of examples run, the ones that failed)."""
    count = 0
    failures = []
    for rule in profile.rules():
        cases = [(e, True) for e in rule.match] + [(e, False) for e in rule.no_match]
        if not cases:
            continue
        matcher = RuleMatcher([rule], home=home, workspace=profile.workspace,
                              literal=rule.kind == WRITABLE)
        for example, expected in cases:
            count += 1
            path = example_path(example, home=home, workspace=profile.workspace)
            if (matcher.match(path) is not None) != expected:
                failures.append(ExampleFailure(rule, example, expected))
    if profile.exec_rules:
        from jail.exec_policy import rule_covers  # the exec policy imports this package

        for exec_rule in profile.exec_rules:
            for example, expected in ([(e, True) for e in exec_rule.match]
                                      + [(e, False) for e in exec_rule.no_match]):
                count += 1
                if rule_covers(exec_rule, example) != expected:
                    failures.append(ExampleFailure(exec_rule, example, expected))
    for secret_rule in profile.redact.rules:
        from jail.redact.scanner import Scanner

        scanner = Scanner((secret_rule,))
        shown = Rule("redact.rule", secret_rule.id, secret_rule.where, 0)
        for example, expected in ([(e, True) for e in secret_rule.examples]
                                  + [(e, False) for e in secret_rule.counterexamples]):
            count += 1
            found = any(f.rule_id == secret_rule.id for f in scanner.scan(example.encode()))
            if found != expected:
                failures.append(ExampleFailure(shown, example, expected))
    network_count, network_failures = _network_examples(profile, home=home)
    return count + network_count, failures + network_failures


def _network_examples(profile: Profile, *, home: Path) -> tuple[int, list[ExampleFailure]]:
    """[network] examples: "host:port" or "ip:port" for destinations, a path for unix rules."""
    from jail.network.rules import parse_destination, parse_example

    count, failures = 0, []
    for rule in profile.network.rules:
        for example, expected in [(e, True) for e in rule.match] + [(e, False) for e in rule.no_match]:
            count += 1
            if rule.unix:
                path = example_path(example, home=home, workspace=profile.workspace)
                matcher = RuleMatcher([rule], home=home, workspace=profile.workspace)
                covered = matcher.match(path) is not None
            else:
                covered = parse_destination(rule.pattern).matches(parse_example(example))
            if covered != expected:
                failures.append(ExampleFailure(rule, example, expected))
    return count, failures
