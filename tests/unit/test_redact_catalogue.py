"""The secret catalogue: every rule's examples are found, its counterexamples are not,
and a broken rule is an error that names the file, the line and what was wrong."""

from __future__ import annotations

import re

import pytest

from jail.redact import CatalogueError, Scanner, builtin_rules, parse_rules
from jail.redact.filters import FILTERS
from jail.redact.rules import fast_form, select_rules

pytestmark = pytest.mark.unit

RULES = builtin_rules()
FULL = Scanner.from_catalogue()
ALONE = {rule.id: Scanner([rule]) for rule in RULES}
EXAMPLES = [(rule.id, text) for rule in RULES for text in rule.examples]
COUNTEREXAMPLES = [(rule.id, text) for rule in RULES for text in rule.counterexamples]


def test_catalogue_is_large_and_well_formed() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) >= 70
    assert len(set(ids)) == len(ids)
    for rule in RULES:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.id)
        assert rule.description and rule.keywords and rule.examples and rule.counterexamples, rule.id
        assert all(word == word.lower() for word in rule.keywords)
        assert "secret" in rule.pattern.groupindex
        assert set(rule.filters) <= set(FILTERS)
        assert rule.where.startswith("secrets.toml:")


@pytest.mark.parametrize("required", [
    "aws-access-key-id", "aws-secret-access-key", "gcp-service-account-private-key", "gcp-private-key-id",
    "azure-storage-account-key", "azure-ad-client-secret", "github-pat-classic", "github-pat-fine-grained",
    "gitlab-pat", "bitbucket-app-password", "slack-bot-token", "slack-webhook-url", "discord-bot-token",
    "telegram-bot-token", "stripe-secret-key", "twilio-auth-token", "sendgrid-api-key", "mailgun-api-key",
    "mailchimp-api-key", "datadog-api-key", "newrelic-user-api-key", "sentry-dsn", "pagerduty-api-key",
    "shopify-access-token", "square-access-token", "braintree-access-token", "openai-project-key",
    "anthropic-api-key", "google-api-key", "google-oauth-client-secret", "huggingface-token",
    "cohere-api-key", "mistral-api-key", "groq-api-key", "replicate-api-token", "npm-access-token",
    "pypi-token", "rubygems-api-key", "dockerhub-pat", "railway-token", "vercel-token", "flyio-access-token",
    "heroku-api-key", "netlify-token", "supabase-access-token", "supabase-service-role-jwt",
    "cloudflare-api-token", "digitalocean-token", "linear-api-key", "notion-token", "atlassian-api-token",
    "okta-api-token", "vault-token", "terraform-cloud-token", "doppler-token",
    "onepassword-service-account-token", "private-key", "pgp-private-key-block", "jwt",
    "postgres-connection-string", "mysql-connection-string", "mongodb-connection-string",
    "redis-connection-string", "amqp-connection-string", "uri-with-password", "netrc-password",
    "generic-password", "generic-token", "generic-secret", "generic-api-key"])
def test_catalogue_covers(required: str) -> None:
    assert FULL.rule(required) is not None


@pytest.mark.parametrize(("rule_id", "text"), EXAMPLES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(EXAMPLES)])
def test_example_is_found(rule_id: str, text: str) -> None:
    data = text.encode()
    alone = ALONE[rule_id].scan(data)
    assert alone and all(f.rule_id == rule_id for f in alone)
    assert all(f.end - f.start >= 4 for f in alone)
    # ... one of the rule's keywords is in the text (the prefilter lets it run) ...
    assert any(word.encode() in data.lower() for word in FULL.rule(rule_id).keywords)
    # ... and with the whole catalogue, the secret is still hidden (by this rule or a stronger one).
    redacted, findings = FULL.redact(data, b"k" * 32)
    assert findings
    for finding in alone:
        for line in data[finding.start:finding.end].split(b"\n"):
            if len(line.strip()) >= 4:
                assert line.strip() not in redacted


@pytest.mark.parametrize(("rule_id", "text"), COUNTEREXAMPLES,
                         ids=[f"{r}-{i}" for i, (r, _) in enumerate(COUNTEREXAMPLES)])
def test_counterexample_is_not_found(rule_id: str, text: str) -> None:
    assert ALONE[rule_id].scan(text.encode()) == []


def test_overlapping_rules_give_one_finding_from_the_specific_rule() -> None:
    token = "ghp_" + "aB3dE5fG7h" * 3 + "iJ9kLm"
    for text in (f"GITHUB_TOKEN={token}", f'token = "{token}"', f"https://x:{token}@github.com/a/b"):
        findings = FULL.scan(text.encode())
        assert [f.rule_id for f in findings] == ["github-pat-classic"], text


@pytest.mark.parametrize(("regex", "fast"), [
    (r"\b(?P<secret>ghp_[A-Za-z0-9]{36,})", r"(?P<secret>ghp_(?<![A-Za-z0-9_]ghp_)[A-Za-z0-9]{36,})"),
    (r"\b(?P<secret>sk-ant-api[0-9]{2}-x)", r"(?P<secret>sk-ant-api(?<![A-Za-z0-9_]sk-ant-api)[0-9]{2}-x)"),
    (r"\b(?P<secret>(?:AKIA|ASIA)x)", r"\b(?P<secret>(?:AKIA|ASIA)x)"),  # not a literal: unchanged
    (r"\b(?P<secret>A{20}x)", r"\b(?P<secret>A{20}x)"),  # quantified last character: unchanged
    (r"\b(?P<secret>ab|cd)", r"\b(?P<secret>ab|cd)"),  # alternation: unchanged
])
def test_fast_form_moves_only_a_leading_boundary_before_a_literal(regex: str, fast: str) -> None:
    assert fast_form(regex) == fast


@pytest.mark.parametrize("text", ["ghp_" + "a" * 36, "xghp_" + "a" * 36, " ghp_" + "b1" * 18,
                                  "_ghp_" + "c" * 36,
                                  "-ghp_" + "d" * 36, "ghp_ghp_" + "e" * 36])
def test_fast_form_matches_like_the_original(text: str) -> None:
    original = re.compile(rb"\b(?P<secret>ghp_[A-Za-z0-9]{36,})")
    fast = re.compile(fast_form(r"\b(?P<secret>ghp_[A-Za-z0-9]{36,})").encode())
    data = text.encode()
    spans = [m.span("secret") for m in original.finditer(data)]
    assert spans == [m.span("secret") for m in fast.finditer(data)]


RULE = """
[[rule]]
id = "acme-token"
description = "Acme token"
keywords = ["acme_"]
regex = '(?P<secret>acme_[a-z]{8})'
examples = ["acme_abcdefgh"]
counterexamples = ["acme_x"]
"""


@pytest.mark.parametrize(("text", "message"), [
    ("[[rule]]\nid = 'x'\n", 'needs "description"'),
    (RULE.replace("acme-token", "Acme Token"), "kebab-case"),
    (RULE.replace('keywords = ["acme_"]', 'keywords = ["ACME_"]'), "lower-case"),
    (RULE.replace('keywords = ["acme_"]', "keywords = []"), "at least one keyword"),
    (RULE.replace("(?P<secret>acme_[a-z]{8})", "acme_[a-z]{8}"), "(?P<secret>"),
    (RULE.replace("(?P<secret>acme_[a-z]{8})", "(?P<secret>acme_[a-z"), "does not compile"),
    (RULE.replace('description = "Acme token"', 'description = "Acme token"\nfilter = ["placeholder"]'),
     'did you mean "filters"'),
    (RULE.replace('description = "Acme token"', 'description = "Acme token"\nfilters = ["placehold"]'),
     'did you mean "placeholder"'),
    (RULE.replace('description = "Acme token"', 'description = "Acme token"\nentropy = 12'),
     "bits per character"),
    (RULE + RULE, 'used twice (first at x.toml:2)'),
    ("rule = 3", "array of tables"),
    ("[[rule]\n", "not valid TOML"),
])
def test_a_broken_rule_names_file_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        parse_rules(text, "x.toml")
    assert message in str(caught.value) or message in (caught.value.hint or "")
    assert str(caught.value).startswith("x.toml")


def test_extra_rules_and_disabled_rules() -> None:
    (extra,) = parse_rules(RULE, "jail.toml")
    assert extra.where == "jail.toml:2"
    scanner = Scanner.from_catalogue(extra_rules=[extra], disabled={"github-pat-classic"})
    assert [f.rule_id for f in scanner.scan(b"key acme_abcdefgh")] == ["acme-token"]
    assert scanner.rule("github-pat-classic") is None
    assert scanner.scan(b"ghp_" + b"aB3dE5fG7h" * 4) == []
    with pytest.raises(CatalogueError, match="unknown secret rule") as caught:
        select_rules(disabled={"github-pat-clasic"})
    assert caught.value.hint == 'did you mean "github-pat-classic"?'
