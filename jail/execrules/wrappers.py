"""Programs that run another command: how to find that command in their arguments.

Data only. `env VAR=1 cmd`, `sudo -u x cmd`, `timeout 5 cmd`, `xargs -0 cmd`,
`ssh host 'cmd'`, `npx vercel rm`, `op run -- cmd` ... Each entry says which
options take a value, how many operands come before the command, and whether
the command is a shell string (`su -c STRING`) or the rest of the words joined
and handed to a shell (`ssh host cmd...`, `watch cmd...`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wrapper:
    value_options: frozenset[str] = frozenset()  # take the next word as their value
    leading: int = 0  # operands before the command (timeout's DURATION, ssh's HOST)
    shell_options: frozenset[str] = frozenset()  # their value is a shell string (`su -c`)
    chdir_options: frozenset[str] = frozenset()  # their value is the command's directory
    joined: bool = False  # the command is the remaining words joined, run by a shell
    positional: bool = True  # the command follows the options (False: only via shell_options)
    subcommands: tuple[str, ...] = ()  # one of these must come first (`npm exec`, `uv run`)
    package: bool = False  # the command is a package name (`npx vercel@latest` is vercel)
    assignments: bool = False  # NAME=value words before the command set variables
    dashdash: bool = False  # the command is what follows `--` when there is one
    lookup_only: frozenset[str] = frozenset()  # options that make it not run anything
    split_options: frozenset[str] = frozenset()  # their value is split into words in place


def _set(*words: str) -> frozenset[str]:
    return frozenset(words)


WRAPPERS: dict[str, Wrapper] = {
    "env": Wrapper(value_options=_set("-u", "--unset", "-C", "--chdir", "-P", "-a", "--argv0"),
                   split_options=_set("-S", "--split-string"), chdir_options=_set("-C", "--chdir"),
                   assignments=True),
    "sudo": Wrapper(value_options=_set("-u", "--user", "-g", "--group", "-h", "--host", "-p",
                                       "--prompt", "-C", "--close-from", "-D", "--chdir", "-r",
                                       "--role", "-t", "--type", "-U", "--other-user", "-T",
                                       "--command-timeout", "-R", "--chroot"),
                    chdir_options=_set("-D", "--chdir"), assignments=True,
                    lookup_only=_set("-l", "--list", "-v", "--validate", "-k", "-K")),
    "doas": Wrapper(value_options=_set("-u", "-C")),
    "run0": Wrapper(value_options=_set("-u", "--user", "-g", "--group", "-D", "--chdir",
                                       "--setenv", "--unit", "--property", "--description",
                                       "--slice", "--nice", "--background"),
                    chdir_options=_set("-D", "--chdir")),
    "nice": Wrapper(value_options=_set("-n", "--adjustment")),
    "nohup": Wrapper(),
    "setsid": Wrapper(),
    "unbuffer": Wrapper(),
    "caffeinate": Wrapper(),
    "firejail": Wrapper(),
    "proxychains": Wrapper(value_options=_set("-f")),
    "proxychains4": Wrapper(value_options=_set("-f")),
    "timeout": Wrapper(value_options=_set("-s", "--signal", "-k", "--kill-after"), leading=1),
    "stdbuf": Wrapper(value_options=_set("-i", "-o", "-e", "--input", "--output", "--error")),
    "ionice": Wrapper(value_options=_set("-c", "--class", "-n", "--classdata")),
    "chrt": Wrapper(value_options=_set("-T", "-P", "-D"), leading=1),
    "taskset": Wrapper(leading=1),
    "time": Wrapper(value_options=_set("-f", "--format", "-o", "--output")),
    "xargs": Wrapper(value_options=_set("-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L",
                                        "--max-lines", "-n", "--max-args", "-P", "--max-procs",
                                        "-s", "--max-chars", "--process-slot-var")),
    "command": Wrapper(lookup_only=_set("-v", "-V")),
    "exec": Wrapper(value_options=_set("-a")),
    "builtin": Wrapper(),
    "busybox": Wrapper(),
    "toybox": Wrapper(),
    "su": Wrapper(value_options=_set("-s", "--shell", "-g", "--group", "-G", "--supp-group",
                                     "-w", "--whitelist-environment"),
                  shell_options=_set("-c", "--command", "--session-command"), positional=False),
    "runuser": Wrapper(value_options=_set("-u", "--user", "-g", "--group", "-G", "-s", "--shell",
                                          "-w"),
                       shell_options=_set("-c", "--command", "--session-command")),
    "script": Wrapper(value_options=_set("-E", "--echo", "-I", "--log-in", "-O", "--log-out",
                                         "-B", "--log-io", "-T", "--log-timing", "-m",
                                         "--logging-format"),
                      shell_options=_set("-c", "--command"), positional=False),
    "flock": Wrapper(value_options=_set("-w", "--wait", "--timeout", "-E", "--conflict-exit-code"),
                     shell_options=_set("-c", "--command"), leading=1),
    "watch": Wrapper(value_options=_set("-n", "--interval", "-q", "--equexit"), joined=True),
    "ssh": Wrapper(value_options=_set("-B", "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J",
                                      "-L", "-l", "-m", "-O", "-o", "-P", "-p", "-Q", "-R", "-S",
                                      "-W", "-w"),
                   leading=1, joined=True),
    "strace": Wrapper(value_options=_set("-o", "-e", "-p", "-s", "-u", "-E", "-I", "-a", "-b",
                                         "-O", "-S", "-P")),
    "ltrace": Wrapper(value_options=_set("-o", "-e", "-p", "-s", "-u", "-a", "-n", "-l")),
    "valgrind": Wrapper(),
    "systemd-run": Wrapper(value_options=_set("-u", "--unit", "-p", "--property", "-E",
                                              "--setenv", "--slice", "--description", "-H",
                                              "--host", "-M", "--machine", "--working-directory",
                                              "--nice", "--uid", "--gid"),
                           chdir_options=_set("--working-directory")),
    "npx": Wrapper(value_options=_set("-p", "--package"), shell_options=_set("-c", "--call"),
                   package=True),
    "pnpx": Wrapper(value_options=_set("-p", "--package"), package=True),
    "bunx": Wrapper(value_options=_set("-p", "--package"), package=True),
    "uvx": Wrapper(value_options=_set("--from", "--with", "-p", "--python"), package=True),
    "npm": Wrapper(value_options=_set("-p", "--package", "-w", "--workspace"),
                   shell_options=_set("-c", "--call"), subcommands=("exec", "x"), package=True),
    "pnpm": Wrapper(value_options=_set("-C", "--dir", "--filter"), subcommands=("dlx", "exec"),
                    package=True),
    "yarn": Wrapper(subcommands=("dlx", "exec"), package=True),
    "pipx": Wrapper(value_options=_set("--spec", "--python"), subcommands=("run",), package=True),
    "uv": Wrapper(value_options=_set("--with", "-p", "--python", "--directory", "--project",
                                     "--package", "--env-file", "--from"),
                  chdir_options=_set("--directory"), subcommands=("run",)),
    "poetry": Wrapper(value_options=_set("-C", "--directory", "-P", "--project"),
                      subcommands=("run",)),
    "pipenv": Wrapper(subcommands=("run",)),
    "pdm": Wrapper(subcommands=("run",)),
    "hatch": Wrapper(subcommands=("run",)),
    "bundle": Wrapper(subcommands=("exec",)),
    "direnv": Wrapper(subcommands=("exec",), leading=1),
    "nix-shell": Wrapper(value_options=_set("-p", "--packages", "-I", "--arg", "--argstr"),
                         shell_options=_set("--run", "--command"), positional=False),
    "op": Wrapper(value_options=_set("--env-file", "--account"), subcommands=("run",),
                  dashdash=True),
    "doppler": Wrapper(value_options=_set("-p", "--project", "-c", "--config", "--token"),
                       shell_options=_set("--command"), subcommands=("run",), dashdash=True),
    "infisical": Wrapper(value_options=_set("--env", "--path", "--projectId", "--token"),
                         shell_options=_set("--command"), subcommands=("run",), dashdash=True),
    "dotenvx": Wrapper(value_options=_set("-f", "--env-file", "-e", "--env"),
                       subcommands=("run",), dashdash=True),
    "aws-vault": Wrapper(value_options=_set("--duration", "--region", "--mfa-token"),
                         subcommands=("exec",), leading=1, dashdash=True),
    "chamber": Wrapper(subcommands=("exec",), dashdash=True, positional=False),
}
