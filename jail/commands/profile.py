"""`jail profile show | list`: the effective merged rules, and the built-in profiles."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from jail.errors import ExitCode
from jail.policy import Policy, PolicyContext
from jail.profile import Rule, builtin_descriptions, display_path, load_profile

# (attribute, heading, what it means)
CATEGORIES = (
    ("writable", "writable", "may be created, changed and deleted"),
    ("deny", "deny", "can be neither read nor written (wins over everything)"),
    ("read_only", "read_only", "readable, never writable (wins over writable)"),
    ("readable", "readable", "the only readable trees, besides the writable places"),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="show the effective profile or list the built-in ones",
        description="Show the effective profile (every layer merged), each rule with the "
        "file and line it came from; or list the built-in profiles.")
    sub = parser.add_subparsers(dest="profile_command", metavar="ACTION")
    show = sub.add_parser("show", help="the effective rules, grouped by category")
    show.add_argument("--profile", metavar="NAME|PATH",
                      help="a built-in name or a file instead of the project's jail.toml")
    show.add_argument("--agent", metavar="NAME",
                      help="include this agent's built-in profile as a layer, as `jail run -- AGENT` does")
    show.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("list", help="the built-in profiles")
    parser.set_defaults(func=run, profile=None, json=False, agent=None)


def run(args: argparse.Namespace) -> int:
    if args.profile_command == "list":
        for name, description in builtin_descriptions().items():
            print(f"{name:<12} {description}")
        return ExitCode.OK
    return show(args)


def rule_json(rule: Rule) -> dict[str, Any]:
    return {"pattern": rule.pattern, "source": rule.source, "line": rule.line,
            "where": rule.where, "reason": rule.reason, "match": list(rule.match),
            "no_match": list(rule.no_match)}


def show(args: argparse.Namespace) -> int:
    home = Path.home()
    loaded = load_profile(cwd=Path.cwd(), home=home, env=os.environ, profile=args.profile, agent=args.agent)
    agent_layer = args.agent if args.agent and not args.profile else None
    profile = loaded.profile
    policy = Policy.from_profile(profile, PolicyContext.for_person(home=home, env=os.environ))
    if args.json:
        data: dict[str, Any] = {
            "workspace": str(profile.workspace),
            "sources": [str(path) for path in profile.sources],
            "project_files": [str(path) for path in loaded.project_files],
            "description": profile.description,
            "agent": agent_layer,
            "writable_roots": policy.writable_roots(),
        }
        for attribute, _heading, _meaning in CATEGORIES:
            rules = getattr(profile, attribute)
            data[attribute] = None if rules is None else [rule_json(rule) for rule in rules]
        data["network"] = {"default": profile.network.default or "ask",
                           "default_where": profile.network.default_where,
                           "rules": [{**rule_json(rule), "kind": rule.kind, "unix": rule.unix}
                                     for rule in profile.network.rules]}
        data["redact"] = {key: [rule_json(rule) for rule in getattr(profile.redact, key)]
                          for key in ("passthrough", "always", "never", "disable")}
        data["redact"]["rules"] = [{"id": rule.id, "where": rule.where} for rule in profile.redact.rules]
        data["approval"] = {"timeout": profile.approval.timeout,
                            "when_no_one_answers": profile.approval.fallback,
                            "timeout_where": profile.approval.timeout_where,
                            "fallback_where": profile.approval.fallback_where}
        data["exec_rules"] = len(profile.exec_rules)
        print(json.dumps(data, indent=2))
        return ExitCode.OK
    print(f"workspace  {display_path(profile.workspace, home)}")
    print("sources    " + ", ".join(display_path(path, home) for path in profile.sources))
    if profile.description:
        print(f"about      {profile.description}")
    if agent_layer:
        print(f"agent      {agent_layer}.toml, between the base and the project "
              "(`jail run` picks it from the command)")
    elif args.agent:
        print(f"agent      none: --profile {args.profile} replaces the agent layer")
    for attribute, heading, meaning in CATEGORIES:
        rules = getattr(profile, attribute)
        print(f"\n{heading}: {meaning}")
        if rules is None:
            print("  (not set: everything not denied is readable)")
            continue
        if not rules:
            print("  (none)")
        width = max((len(rule.pattern) for rule in rules), default=0)
        for rule in rules:
            where = display_path(rule.where, home)
            reason = f"  # {rule.reason}" if rule.reason else ""
            print(f"  {rule.pattern:<{width}}  {where}{reason}")
    _show_sections(profile, home)
    return ExitCode.OK


def _rule_lines(rules, home: Path, label=lambda rule: rule.pattern) -> None:
    if not rules:
        print("  (none)")
    width = max((len(label(rule)) for rule in rules), default=0)
    for rule in rules:
        reason = f"  # {rule.reason}" if rule.reason else ""
        print(f"  {label(rule):<{width}}  {display_path(rule.where, home)}{reason}")


def _show_sections(profile, home: Path) -> None:
    """[network], [redact], [approval] and a count of [exec] rules."""
    network = profile.network
    default_where = f" ({display_path(network.default_where, home)})" if network.default_where else ""
    verdict = {"ask": "asked", "allow": "allowed", "deny": "denied"}[network.default or "ask"]
    print(f"\nnetwork: connections are {verdict} unless a rule says otherwise"
          f"{default_where}; deny beats ask beats allow")
    _rule_lines(network.rules, home,
                lambda rule: f"{rule.kind.split('.')[-1]:<5} {'unix ' if rule.unix else ''}{rule.pattern}")
    redact = profile.redact
    print("\nredact: every file read is scanned; these tune it")
    entries = [*redact.passthrough, *redact.always, *redact.never, *redact.disable]
    _rule_lines(entries, home, lambda rule: f"{rule.kind.split('.')[-1]:<11} {rule.pattern}")
    for rule in redact.rules:
        print(f"  rule        {rule.id}  {display_path(rule.where, home)}")
    approval = profile.approval
    default = "jail's default"
    timeout_where = display_path(approval.timeout_where, home) if approval.timeout_where else default
    fallback_where = display_path(approval.fallback_where, home) if approval.fallback_where else default
    print(f"\napproval: a paused command waits {approval.timeout:g} s ({timeout_where}); "
          f"then, or when no one can answer: {approval.fallback} ({fallback_where})")
    print(f"\nexec: {len(profile.exec_rules)} rules (`jail explain exec -- COMMAND` shows which decides)")
