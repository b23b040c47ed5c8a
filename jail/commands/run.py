"""jail run -- COMMAND: start COMMAND under the supervisor and pass its exit status through."""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
from pathlib import Path

from jail import __version__, native, state
from jail.errors import CommandNotFound, ExitCode, JailError, SupervisorFailed, UsageError
from jail.sandbox import FORWARDED, SI_KERNEL, WAITED, Sandbox, SandboxSpec, choose_namespaces, exit_code_of


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a command (an agent) under jail",
                       description="Run COMMAND under the seccomp supervisor, enforcing the profile. "
                       "COMMAND's exit status becomes jail's; jail's own failures exit 125-127.")
    p.add_argument("--profile", metavar="NAME|PATH",
                   help="use this profile instead of the project's jail.toml (a built-in name or a file)")
    p.add_argument("--agent", metavar="NAME|none",
                   help="use this agent's built-in profile as a layer (default: chosen from the command; "
                   "none: no agent layer); see `jail profiles`")
    p.add_argument("--workspace", metavar="DIR", help="the project root (default: found from the cwd)")
    p.add_argument("--trust-project", action="store_true",
                   help="use an untrusted project profile without asking (for CI; recorded in the audit log)")
    p.add_argument("--user", metavar="USER", help="run the command as USER (jail must run as root)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print denials on stderr")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments (after --)")
    p.set_defaults(func=run)


def _resolve_command(argv: list[str], env: dict[str, str]) -> str:
    name = argv[0]
    if "/" in name:
        if not os.path.exists(name):
            raise CommandNotFound(f"{name}: no such file")
        return os.path.abspath(name)
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if not found:
        raise CommandNotFound(f"{name}: command not found", hint="check PATH, or give the full path")
    return found


def _agent_layer(chosen: str | None, command: list[str], env: dict[str, str]) -> str | None:
    """The built-in agent profile for this command: --agent NAME, none, or detected."""
    from jail.agents import AGENTS, agent_named, detect_agent

    if chosen == "none":
        return None
    if chosen is not None:
        if agent_named(chosen) is None:
            raise UsageError(f'unknown agent "{chosen}"',
                             hint="agents: " + ", ".join(a.profile for a in AGENTS) + ", or none")
        return chosen
    found = command[0] if "/" in command[0] else shutil.which(command[0], path=env.get("PATH", os.defpath))
    agent = detect_agent(command, os.path.realpath(found) if found else None)
    return agent.profile if agent else None


def _target_user(name: str | None) -> tuple[int, int, list[int], Path] | None:
    if name is None:
        return None
    if os.geteuid() != 0:
        raise UsageError("--user needs jail to run as root")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise UsageError(f"no such user: {name}") from None
    groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
    return entry.pw_uid, entry.pw_gid, groups, Path(entry.pw_dir)


def run(args: argparse.Namespace) -> int:
    from jail.audit import AuditWriter
    from jail.commands.trust import ask_on_terminal, has_terminal
    from jail.filter import build_filter
    from jail.landlock import plan as landlock_plan
    from jail.policy_context import build_policy
    from jail.profile import ensure_trusted, load_profile

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError("nothing to run", hint="jail run -- COMMAND [ARGS...]")
    env = dict(os.environ)
    user = _target_user(args.user)
    home = user[3] if user else Path(env.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir)
    if user:
        env.update(HOME=str(home), USER=args.user, LOGNAME=args.user)
    cwd = Path.cwd()

    agent = _agent_layer(args.agent, command, env)
    loaded = load_profile(cwd=cwd, home=home, env=env, profile=args.profile,
                          workspace=Path(args.workspace).resolve() if args.workspace else None, agent=agent)
    # Trust is checked on the exact bytes that were parsed, not on a second read.
    ensure_trusted(loaded.project_contents, interactive=has_terminal(), assume_yes=args.trust_project,
                   ask=ask_on_terminal)
    policy = build_policy(loaded, env=env, home=home)
    executable = _resolve_command(command, env)
    redaction = _redaction(loaded.profile, home)
    env, env_findings = redaction.environment(env)

    abi = native.landlock_abi()
    sessions = state.ensure_private_dir(state.sessions_dir(os.environ, Path.home()))
    audit = AuditWriter.open(
        sessions, agent=command, cwd=str(cwd),
        profile_sources=[str(p) for p in loaded.all_files], jail_version=__version__,
        mode={"landlock_abi": abi, "workspace": str(loaded.profile.workspace),
              "trusted_by_flag": bool(args.trust_project and loaded.project_files),
              "agent_profile": None if args.profile else agent},
    )
    env["JAIL_SESSION"] = audit.session_id
    from jail.network.proxy import Proxy

    proxy = Proxy(policy.network, record=audit.record)  # decides by host name; see jail/network/
    env.update(proxy.environment(env))
    if env_findings:  # names and rules, never a value
        audit.record(event="redact-env", verdict="redact",
                     findings=[{"name": f.name, "rule": f.rule_id} for f in env_findings])
    spec = SandboxSpec(
        executable=executable, argv=command, env=env, cwd=str(cwd), bpf=build_filter(),
        landlock=landlock_plan(abi, policy.writable_roots()), namespaces=choose_namespaces(),
        uid=user[0] if user else -1, gid=user[1] if user else -1, groups=user[2] if user else None,
    )
    signal.pthread_sigmask(signal.SIG_BLOCK, WAITED)
    code = int(ExitCode.JAIL_FAILED)
    try:
        code = exit_code_of(_supervise(spec, policy, audit, user, quiet=args.quiet,
                                       workspace=loaded.profile.workspace, redaction=redaction,
                                       project=loaded.project_contents, proxy=proxy))
    finally:
        proxy.close()
        audit.close(code)
    return code


def _supervise(spec: SandboxSpec, policy, audit, user, quiet: bool, workspace: Path,  # noqa: PLR0915 (wiring, in order)
               redaction, project: dict[Path, bytes], proxy) -> int | None:
    from jail.approve.server import ApprovalServer
    from jail.approve.terminal_prompt import TerminalPrompter
    from jail.supervisor.approvals import connect_asker, exec_asker
    from jail.supervisor.context import Context, Notices
    from jail.supervisor.envscrub import EnvScrubber
    from jail.supervisor.execgate import ExecGate, policy_decider
    from jail.supervisor.loop import Supervisor
    from jail.supervisor.redacted import Redactor
    from jail.supervisor.resolve import SandboxView
    from jail.supervisor.sockets import wire_network
    from jail.supervisor.writeback import WriteBack
    from jail.terminal import TerminalProxy, has_own_terminal

    # On a terminal the agent gets a pty of jail's, so a prompt can take the screen.
    terminal = TerminalProxy(owner_uid=spec.uid) if has_own_terminal() else None
    spec.ctty_fd = terminal.slave if terminal else -1
    sandbox = Sandbox(spec)
    server = prompter = writeback = None
    try:
        listener = sandbox.spawn()
        if terminal:
            terminal.start()
        view = SandboxView(sandbox.agent_pid, sandbox.shim_pid, pidns=sandbox.namespaces != "none")
        ctx = Context(listener, policy, audit, view,
                      Notices(stream=terminal.messages if terminal else None, enabled=not quiet))
        ctx.redactor = Redactor(redaction)
        ctx.writeback = writeback = WriteBack(ctx.redactor, audit, ctx.notices.tell,
                                              _backups(audit.session_id))
        broker = _broker(audit, project, policy.profile.approval)
        server = ApprovalServer(broker).start()
        if terminal:
            prompter = TerminalPrompter(broker, terminal, ctx.notices.tell).start()
        ctx.exec_gate = ExecGate(ctx, policy_decider(policy, str(workspace)),
                                 ask=exec_asker(ctx, broker, audit.session_id, spec.argv, ctx.notices.tell))
        wire_network(ctx, policy.network, proxy,
                     connect_asker(ctx, broker, audit.session_id, spec.argv, ctx.notices.tell))
        ctx.exec_gate.env_scrubber = EnvScrubber(redaction.passthrough, sandbox.agent_pid, spec.executable)
        ctx.exec_gate.start()
        supervisor = Supervisor(ctx, creds=(user[0], user[1], user[2]) if user else None)
        supervisor.start()
        audit.record(event="sandbox", namespaces=sandbox.namespaces, shim_pid=sandbox.shim_pid,
                     agent_pid=sandbox.agent_pid)
        sandbox.confirm_exec()
        failure = _watch(sandbox, lambda: supervisor.failure or ctx.exec_gate.failure, terminal)
        if failure is not None:
            raise SupervisorFailed(f"the supervisor failed ({failure!r}); "
                                   "the sandbox was stopped and nothing it started is left running")
        status = sandbox.wait_exit()
        supervisor.stop()
        return status
    finally:
        if not sandbox.exited and sandbox.listener is not None:  # started, and not (yet) ended
            sandbox.kill()
            sandbox.wait_exit()
        if writeback is not None:
            writeback.close()
        if prompter is not None:
            prompter.close()
        if terminal:
            terminal.close()
        if server is not None:
            server.close()


def _backups(session: str) -> Path:
    """Where the real content of secret-bearing files written in place is kept
    until the secrets are back: jail's state dir, which the sandbox cannot read."""
    return state.state_dir(os.environ, Path.home()) / "backups" / session


def _broker(audit, project: dict[Path, bytes], approval):
    """The session's approvals: the profile's [approval] timeout and fallback
    (deny unless the person's own profile says otherwise). Without a terminal
    no one will answer unless `jail approve` is already watching: the fallback
    applies at once and CI never hangs. "always" edits the project profile and
    re-pins its trust."""
    from jail.approve.broker import Broker
    from jail.approve.grants import always_writer
    from jail.commands.trust import has_terminal

    return Broker(audit.session_id, timeout=approval.timeout, fallback=approval.fallback,
                  attach_grace=approval.timeout if has_terminal() else 0,
                  profile_path=next(iter(project), None), write_always=always_writer(project, audit.record))


def _redaction(profile, home: Path):
    """Every file the agent reads is scanned and its environment redacted;
    secrets arrive as placeholders unique to this session."""
    from jail.redaction import Redaction

    return Redaction.from_settings(profile.redact, home=home, workspace=profile.workspace)


def _watch(sandbox: Sandbox, failure, terminal=None) -> BaseException | None:
    """Pass signals on until the agent exits or the supervisor fails."""
    while not sandbox.exited and failure() is None:
        # SIGCHLD stays blocked and is left to the exec gate's signalfd.
        # A short timeout: the agent's exit is noticed by another thread, and
        # jail should not sit out a long wait after the command has finished.
        info = signal.sigtimedwait(FORWARDED, 0.02)
        # After a stop longer than the timeout (Ctrl-Z, then fg), CPython can
        # return an uninitialised siginfo (EINTR past the deadline): not a signal.
        if info is None or info.si_signo not in FORWARDED:
            continue
        if info.si_code != SI_KERNEL:
            sandbox.forward(info.si_signo)  # sent to jail with kill(1): pass it on
        elif terminal is not None:  # the agent is on jail's pty, not on jail's terminal
            if info.si_signo == signal.SIGWINCH:
                terminal.sync_size()
            elif info.si_signo == signal.SIGHUP:
                sandbox.forward(info.si_signo)  # jail's terminal hung up
        elif info.si_signo == signal.SIGTSTP:
            os.kill(os.getpid(), signal.SIGSTOP)  # Ctrl-Z stopped the agent; stop with it
    if failure() is not None:
        sandbox.kill()
        sandbox.wait_exit()
    return failure()


__all__ = ["JailError", "add_parser", "run"]
