"""Files the profile protects cannot be read or changed by anything the
command starts, whatever name it uses for them."""

from __future__ import annotations

import os
import textwrap

from conftest import SECRET


def assert_refused(result, path_hint: str = ".ssh") -> None:
    assert SECRET not in result.stdout
    assert SECRET not in result.stderr.replace("jail:", "")  # never echoed by jail either
    assert "jail: denied" in result.stderr and path_hint in result.stderr


def test_cat_of_an_ssh_key_is_refused_naming_the_rule(world):
    result = world.run("cat", str(world.ssh_key))
    assert result.returncode == 1
    assert_refused(result)
    assert "files.deny" in result.stderr and "default.toml:" in result.stderr
    denied = [r for r in world.audit_records() if r.get("verdict") == "deny"]
    assert denied and denied[0]["target"] == str(world.ssh_key)
    assert denied[0]["syscall"] in ("openat", "open")
    assert denied[0]["rule"].startswith("default.toml:")
    assert all(SECRET not in str(r) for r in world.audit_records())


def test_python_open_relative_dirfd_symlink_hardlink_and_proc_root(world):
    link = world.workspace / "innocent.txt"
    link.symlink_to(world.ssh_key)
    hard = world.home / "copy-of-key"  # a second name made before jail started
    os.link(world.ssh_key, hard)
    script = textwrap.dedent(f"""
        import os
        home = {str(world.home)!r}
        attempts = {{
            "open": lambda: open(home + "/.ssh/id_rsa").read(),
            "dirfd": lambda: os.read(os.open("id_rsa", os.O_RDONLY,
                                             dir_fd=os.open(home + "/.ssh", os.O_RDONLY)), 99),
            "symlink": lambda: open("innocent.txt").read(),
            "hardlink": lambda: open(home + "/copy-of-key").read(),
            "proc-root": lambda: open("/proc/self/root" + home + "/.ssh/id_rsa").read(),
            "proc-cwd": lambda: (os.chdir(home + "/.ssh"), open("/proc/self/cwd/id_rsa").read()),
            "dotdot": lambda: open(home + "/.aws/../.ssh/./id_rsa").read(),
            "aws": lambda: open(home + "/.aws/credentials").read(),
        }}
        for name, attempt in attempts.items():
            os.chdir({str(world.workspace)!r})
            try:
                print(name, "LEAKED", attempt())
            except OSError as e:
                print(name, "refused", e.errno)
    """)
    result = world.run("python3", "-c", script)
    assert SECRET not in result.stdout, result.stdout
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"open", "dirfd", "symlink", "hardlink", "proc-root", "proc-cwd", "dotdot", "aws"}
    assert all(v.startswith("refused") for v in lines.values()), lines


def test_after_chdir_into_the_store_relative_reads_are_refused(world):
    result = world.run("bash", "-c", f"cd {world.home}/.ssh && cat id_rsa; cat ./id_rsa; ls")
    assert SECRET not in result.stdout
    assert "id_rsa" not in result.stdout  # listing the store is refused too


def test_a_new_hardlink_or_rename_cannot_pull_a_secret_into_the_workspace(world):
    result = world.run("bash", "-c", f"ln {world.ssh_key} stolen; mv {world.ssh_key} stolen2; "
                                     f"cp {world.ssh_key} stolen3; cat stolen stolen2 stolen3")
    assert SECRET not in result.stdout
    assert world.ssh_key.read_text().count(SECRET) == 1  # the original is untouched
    assert not (world.workspace / "stolen").exists()
    assert not (world.workspace / "stolen2").exists()


def test_path_swapping_thread_never_gets_the_secret(world, progs):
    allowed = world.workspace / "aaaaaaaa"
    allowed.write_text("harmless\n")
    secret_dir = world.home / ".ssh"
    secret = secret_dir / "id_rsa"
    # Same length names so the flip is a clean swap of the whole string.
    allowed_path = str(world.workspace / ("a" * (len(str(secret)) - len(str(world.workspace)) - 1)))
    os.rename(allowed, allowed_path)
    result = world.run(str(progs["race_open"]), allowed_path, str(secret), SECRET, "20000", timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    opened = int(result.stdout.split("opened=")[1].split()[0])
    assert opened > 1000  # the race really ran: most allowed opens succeeded
    assert "leaked=0" in result.stdout, result.stdout


def test_writes_and_deletes_inside_the_workspace_work(world):
    script = ("echo one > a.txt && mkdir -p d/e && mv a.txt d/e/b.txt && ln -s d/e/b.txt s && cat s && "
              "chmod 600 d/e/b.txt && touch -d @0 d/e/b.txt && truncate -s 2 d/e/b.txt && "
              "ln d/e/b.txt hard && rm -r d hard s && ls -A")
    result = world.run("bash", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["one", "README"]


def test_writes_and_deletes_outside_the_writable_places_are_refused(world):
    outside = world.home / "notes.txt"
    outside.write_text("keep me\n")
    attempts = [
        f"echo x > {outside}", f"rm {outside}", f"mv {outside} {world.workspace}/moved",
        f"chmod 777 {outside}", f"truncate -s 0 {outside}", f"touch {world.home}/new",
        f"mkdir {world.home}/dir", f"ln -s /etc/passwd {world.home}/link", f"touch -d @0 {outside}",
        f"ln {outside} {world.home}/hard",
    ]
    for attempt in attempts:
        result = world.run("bash", "-c", attempt)
        assert result.returncode != 0, attempt
        assert "jail: denied" in result.stderr, attempt
    assert outside.read_text() == "keep me\n"
    assert sorted(p.name for p in world.home.iterdir()) == [".aws", ".local", ".ssh", "notes.txt"]
    assert oct(outside.stat().st_mode & 0o777) == oct(0o644)


def test_the_audit_log_and_state_are_out_of_reach(world):
    world.run("true")
    state = world.home / ".local/state/jail"
    script = f"cat {state}/sessions/*.jsonl; echo forged >> {state}/sessions/x.jsonl; rm -rf {state}"
    result = world.run("bash", "-c", script)
    assert result.stdout == ""
    assert "jail: denied" in result.stderr
    assert state.exists() and not (state / "sessions" / "x.jsonl").exists()


def test_the_project_profile_is_readable_but_never_writable(world):
    profile = world.workspace / "jail.toml"
    profile.write_text('extends = ["default"]\n')
    world.jail("trust", "--yes", str(profile))
    result = world.run("bash", "-c", "cat jail.toml; echo '[files]' >> jail.toml; rm jail.toml; "
                                     "mv jail.toml x.toml; ln jail.toml h.toml; echo hi >> h.toml")
    assert 'extends = ["default"]' in result.stdout
    assert profile.read_text() == 'extends = ["default"]\n'


def test_proc_of_processes_outside_the_sandbox_is_out_of_reach(world):
    jail_pid_probe = "import os; print(os.getppid())"
    result = world.run("bash", "-c", f"cat /proc/1/environ; cat /proc/{os.getpid()}/environ; "
                                     f"python3 -c '{jail_pid_probe}'; cat /proc/self/status | head -1")
    assert "HOME=" not in result.stdout
    assert "Name:" in result.stdout  # its own /proc works


def test_context_dependent_names_mean_the_caller(world):
    result = world.run("bash", "-c", "cat <(echo substituted); echo piped | cat /dev/stdin; "
                                     "readlink /proc/self/exe; cat /proc/self/cmdline | tr '\\0' ' '")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "substituted" and out[1] == "piped"
    assert out[2].endswith("/readlink")
    assert out[3].startswith("cat /proc/self/cmdline")
