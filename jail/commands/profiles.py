"""`jail profiles`: the built-in profiles, what each is for, and which commands pick it."""

from __future__ import annotations

import argparse
import json

from jail.agents import BY_PROFILE
from jail.errors import ExitCode
from jail.profile import builtin_descriptions


def add_parser(sub) -> None:
    p = sub.add_parser("profiles", help="list the built-in profiles and the commands that select them",
                       description="List the built-in profiles with their descriptions. An agent's "
                       "profile is added as a layer when `jail run` starts that agent "
                       "(override with --agent NAME|none).")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def rows() -> list[dict]:
    out = []
    for name, description in builtin_descriptions().items():
        agent = BY_PROFILE.get(name)
        out.append({"name": name, "description": description,
                    "agent": agent.title if agent else None,
                    "commands": list(agent.commands) if agent else []})
    return out


def run(args: argparse.Namespace) -> int:
    listed = rows()
    if args.json:
        print(json.dumps(listed, indent=2))
        return ExitCode.OK
    width = max(len(row["name"]) for row in listed)
    for row in listed:
        print(f"{row['name']:<{width}}  {row['description']}")
        if row["commands"]:
            print(f"{'':<{width}}  chosen by: jail run -- {' | '.join(row['commands'])}")
    print("\nAgent profiles are layered over your base profile and under the project's jail.toml;\n"
          "`jail run --agent NAME|none` overrides the choice; `jail profile show --agent NAME` "
          "shows the result.")
    return ExitCode.OK
