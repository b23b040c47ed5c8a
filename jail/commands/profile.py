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
    return ExitCode.OK
