"""Trust in project profiles: new, trusted, changed (with a diff), and refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from jail.errors import ExitCode, UntrustedProfileError
from jail.profile import default_store, ensure_trusted, record_trust, trust_prompt, trust_status
from jail.profile.trust import UNTRUSTED_HINT

pytestmark = pytest.mark.unit


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    main = tmp_path / "proj" / "jail.toml"
    main.parent.mkdir()
    main.write_text('extends = ["default", "shared.toml"]\n[workspace]\nwritable = ["."]\n')
    shared = tmp_path / "proj" / "shared.toml"
    shared.write_text('[files]\ndeny = ["secrets"]\n')
    return [main, shared]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "state" / "jail" / "trust.json"


def never_asked(_text: str) -> bool:
    raise AssertionError("must not ask")


def test_new_then_trusted(files: list[Path], store: Path) -> None:
    assert trust_status(files, store=store).state == "new"
    record_trust(files, store=store)
    status = trust_status(files, store=store)
    assert status.state == "trusted" and status.trusted and status.diff is None


def test_the_store_is_private_and_holds_the_trusted_text(files: list[Path], store: Path) -> None:
    record_trust(files, store=store)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    data = json.loads(store.read_text())
    entry = data["profiles"][str(files[0])]
    assert len(entry["sha256"]) == 64
    assert entry["files"][str(files[1])] == '[files]\ndeny = ["secrets"]\n'
    assert not list(store.parent.glob(".trust.json.*.tmp"))  # no temp files left


def test_a_change_in_any_file_shows_a_diff(files: list[Path], store: Path) -> None:
    record_trust(files, store=store)
    files[1].write_text('[files]\ndeny = []\n')
    status = trust_status(files, store=store)
    assert status.state == "changed"
    assert '-deny = ["secrets"]' in status.diff and "+deny = []" in status.diff
    assert f"--- {files[1]} (trusted)" in status.diff and f"+++ {files[1]} (now)" in status.diff
    assert str(files[0]) not in status.diff  # unchanged files are not shown
    prompt = trust_prompt(files, status)
    assert "changed since you trusted it" in prompt and status.diff in prompt


def test_a_file_added_to_the_set_counts_as_a_change(files: list[Path], store: Path) -> None:
    record_trust(files[:1], store=store)
    status = trust_status(files, store=store)
    assert status.state == "changed" and "--- /dev/null" in status.diff


def test_trust_is_keyed_by_the_main_file(files: list[Path], store: Path, tmp_path: Path) -> None:
    record_trust(files, store=store)
    other = tmp_path / "other" / "jail.toml"
    other.parent.mkdir()
    other.write_bytes(files[0].read_bytes())
    assert trust_status([other, files[1]], store=store).state == "new"


def test_exact_bytes_can_be_given_instead_of_paths(files: list[Path], store: Path) -> None:
    loaded = {path: path.read_bytes() for path in files}
    record_trust(loaded, store=store)
    files[0].write_text("# changed after loading\n")
    assert trust_status(loaded, store=store).trusted  # what was parsed is what was trusted
    assert trust_status(files, store=store).state == "changed"


def test_no_files_is_trusted(store: Path) -> None:
    assert trust_status([], store=store).trusted
    ensure_trusted([], interactive=False, assume_yes=False, ask=never_asked, store=store)
    assert not store.exists()


def test_ensure_trusted_returns_when_trusted(files: list[Path], store: Path) -> None:
    record_trust(files, store=store)
    ensure_trusted(files, interactive=True, assume_yes=False, ask=never_asked, store=store)


def test_non_interactive_refuses_with_a_hint(files: list[Path], store: Path) -> None:
    with pytest.raises(UntrustedProfileError) as caught:
        ensure_trusted(files, interactive=False, assume_yes=False, ask=never_asked, store=store)
    assert str(files[0]) in str(caught.value) and "new" in str(caught.value)
    assert caught.value.hint == UNTRUSTED_HINT
    assert "jail trust" in caught.value.hint and "--trust-project" in caught.value.hint
    assert caught.value.exit_code == ExitCode.UNTRUSTED
    record_trust(files, store=store)
    files[0].write_text("# edited by an agent\n")
    with pytest.raises(UntrustedProfileError, match="changed since you trusted it"):
        ensure_trusted(files, interactive=False, assume_yes=False, ask=never_asked, store=store)


def test_assume_yes_records(files: list[Path], store: Path) -> None:
    ensure_trusted(files, interactive=False, assume_yes=True, ask=never_asked, store=store)
    assert trust_status(files, store=store).trusted


def test_interactive_yes_shows_the_text_and_records(files: list[Path], store: Path) -> None:
    shown: list[str] = []

    def ask(text: str) -> bool:
        shown.append(text)
        return True

    ensure_trusted(files, interactive=True, assume_yes=False, ask=ask, store=store)
    assert trust_status(files, store=store).trusted
    assert 'writable = ["."]' in shown[0] and 'deny = ["secrets"]' in shown[0]
    assert "comes from the repository" in shown[0]


def test_interactive_change_shows_the_diff(files: list[Path], store: Path) -> None:
    record_trust(files, store=store)
    files[0].write_text(files[0].read_text().replace('["."]', '[".", "~"]'))
    shown: list[str] = []
    ensure_trusted(files, interactive=True, assume_yes=False, ask=lambda t: shown.append(t) or True,
                   store=store)
    assert '+writable = [".", "~"]' in shown[0]
    assert trust_status(files, store=store).trusted


def test_interactive_no_refuses_and_records_nothing(files: list[Path], store: Path) -> None:
    with pytest.raises(UntrustedProfileError, match="not trusting"):
        ensure_trusted(files, interactive=True, assume_yes=False, ask=lambda _t: False, store=store)
    assert trust_status(files, store=store).state == "new"


def test_a_corrupt_store_trusts_nothing_and_is_replaced(files: list[Path], store: Path) -> None:
    store.parent.mkdir(parents=True)
    store.write_text("{not json")
    assert trust_status(files, store=store).state == "new"
    record_trust(files, store=store)
    assert trust_status(files, store=store).trusted


def test_other_entries_survive_a_new_record(files: list[Path], store: Path, tmp_path: Path) -> None:
    record_trust(files, store=store)
    other = tmp_path / "b.toml"
    other.write_text("")
    record_trust([other], store=store)
    assert trust_status(files, store=store).trusted and trust_status([other], store=store).trusted


def test_default_store_location(tmp_path: Path) -> None:
    assert default_store({}, tmp_path) == tmp_path / ".local/state/jail/trust.json"
    assert default_store({"XDG_STATE_HOME": "/x"}, tmp_path) == Path("/x/jail/trust.json")
