"""The environment an agent starts with: secrets by name or by value become placeholders."""

from __future__ import annotations

import pytest

from jail.redact import NAME_RULE, PLACEHOLDER_RE, Scanner, redact_environment, secret_name

pytestmark = pytest.mark.unit

SCANNER = Scanner.from_catalogue()
KEY = b"e" * 32
GHP = "ghp_" + "aB3dE5fG7h" * 3 + "iJ9kLm"
ANT = "sk-ant-api03-" + "Qw3rTy7uI9oP" * 8


@pytest.mark.parametrize(("name", "value", "rule", "kept"), [
    # by name: the whole value
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1q2w3e4r", NAME_RULE, None),
    ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ", NAME_RULE, None),
    ("GITHUB_TOKEN", GHP, "github-pat-classic", None),
    ("GH_TOKEN", "not-a-known-format-but-secret", NAME_RULE, None),
    ("MY_SERVICE_API_KEY", "1234", NAME_RULE, None),
    ("STRIPE_SECRET", "whatever", NAME_RULE, None),
    ("CLIENT_SECRET_VALUE", "x9", NAME_RULE, None),
    ("DB_PASSWORD", "hunter2", NAME_RULE, None),
    ("PGPASSWORD", "hunter2", NAME_RULE, None),
    ("MYSQL_PWD", "hunter2", NAME_RULE, None),
    ("SMTP_PASS", "hunter2", NAME_RULE, None),
    ("S3_ACCESS_KEY_ID", "AKIAABCDEFGHIJKLMNOP", "aws-access-key-id", None),
    ("JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", NAME_RULE, None),
    ("TF_TOKEN_app_terraform_io", "abc", NAME_RULE, None),
    ("sentry_dsn", "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1", NAME_RULE, None),
    # by value: only the secret
    ("DATABASE_URL", "postgres://app:Zq9xPw81LmTt@db:5432/app", "postgres-connection-string",
     "postgres://app:@db:5432/app"),
    ("HTTPS_PROXY", "http://ann:Zq9xPw81LmTt@proxy:3128", "uri-with-password", "http://ann:@proxy:3128"),
    ("SOME_URL", f"https://x-access-token:{GHP}@github.com/a/b", "github-pat-classic",
     "https://x-access-token:@github.com/a/b"),
    ("NOTES", f"deploy with {GHP} tomorrow", "github-pat-classic", "deploy with  tomorrow"),
])
def test_secret_variables_are_redacted(name: str, value: str, rule: str, kept: str | None) -> None:
    env, findings = redact_environment({name: value, "PATH": "/usr/bin"}, set(), KEY, scanner=SCANNER)
    assert [(f.name, f.rule_id) for f in findings] == [(name, rule)]
    assert env["PATH"] == "/usr/bin"
    redacted = env[name]
    assert value not in redacted and redacted.count("\n") == value.count("\n")
    assert PLACEHOLDER_RE.search(redacted.encode())
    if kept is not None:
        assert PLACEHOLDER_RE.sub(b"", redacted.encode()).decode() == kept


@pytest.mark.parametrize(("name", "value"), [
    ("PATH", "/usr/local/bin:/usr/bin"), ("HOME", "/home/ann"), ("TOKENIZERS_PARALLELISM", "false"),
    ("MAX_TOKENS", "4096"), ("GITHUB_TOKEN", ""), ("GOOGLE_APPLICATION_CREDENTIALS", "/home/ann/sa.json"),
    ("HF_TOKEN_PATH", "/home/ann/.cache/hf/token"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/home/ann/.aws/credentials"),
    ("VAULT_ADDR", "https://vault.internal:8200"), ("DATABASE_URL", "postgres://app@db/app"),
    ("SSH_AUTH_SOCK", "/run/user/1000/ssh-agent.sock"), ("GIT_ASKPASS", "/usr/lib/git-core/askpass"),
    ("API_KEY_HEADER", "X-Api-Key"), ("GITHUB_TOKEN", "REDACTED_BY_POLICY:github-pat-classic:0a1b2c3d"),
])
def test_ordinary_variables_pass_unchanged(name: str, value: str) -> None:
    env, findings = redact_environment({name: value}, set(), KEY, scanner=SCANNER)
    assert env == {name: value} and findings == []


@pytest.mark.parametrize(("passthrough", "kept"), [
    ({"ANTHROPIC_API_KEY"}, {"ANTHROPIC_API_KEY"}),
    ({"ANTHROPIC_*"}, {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_TOKEN"}),
    ({"*_API_KEY"}, {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"}),
    ({"anthropic_api_key"}, set()),  # globs are case-sensitive, like the names
    (set(), set()),
])
def test_passthrough_names_are_left_alone(passthrough: set[str], kept: set[str]) -> None:
    env = {"ANTHROPIC_API_KEY": ANT, "ANTHROPIC_BASE_TOKEN": "t0k3n-value",
           "OPENAI_API_KEY": "sk-proj-" + "a1" * 40}
    out, findings = redact_environment(env, passthrough, KEY, scanner=SCANNER)
    assert {name for name in env if out[name] == env[name]} == kept
    assert {f.name for f in findings} == set(env) - kept


def test_placeholders_are_stable_within_a_session_and_undecodable_bytes_survive() -> None:
    env = {"A_TOKEN": GHP, "B_TOKEN": GHP, "ODD": "caf\udce9 " + GHP}
    out, _ = redact_environment(env, set(), KEY, scanner=SCANNER)
    assert out["A_TOKEN"] == out["B_TOKEN"] and out["ODD"].startswith("caf\udce9 REDACTED_BY_POLICY:")
    with pytest.raises(ValueError):
        redact_environment(env, set(), b"short", scanner=SCANNER)


@pytest.mark.parametrize(("name", "secret"), [
    ("API_TOKEN", True), ("token", True), ("X_SECRETS", True), ("NETRC_AUTH", True), ("GL_PAT", True),
    ("DOCKER_AUTH_CONFIG", True), ("TOKEN_FILE", False), ("SECRET_NAME", False), ("PASSWORD_PROMPT", False),
    ("PATH", False), ("SECRETARY", False), ("BYPASS", False), ("TOKENIZER", False),
])
def test_secret_name(name: str, secret: bool) -> None:
    assert secret_name(name) is secret
