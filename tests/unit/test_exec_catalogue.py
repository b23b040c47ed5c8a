"""The built-in catalogue of destructive commands: every entry's own examples, and its shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from jail.exec_policy import ExecPolicy, example_event, rule_covers
from jail.profile import load_profile, parse_text, read_builtin, run_examples
from jail.profile.model import EXEC_ASK, EXEC_DENY

pytestmark = pytest.mark.unit


def catalogue():
    found = read_builtin("destructive")
    assert found is not None
    return parse_text(found.data.decode("utf-8"), found.source)


RULES = catalogue().exec_rules
CASES = [pytest.param(rule, example, True, id=f"{rule.where} {example}") for rule in RULES
         for example in rule.match] + \
        [pytest.param(rule, example, False, id=f"{rule.where} not {example}") for rule in RULES
         for example in rule.no_match]


@pytest.mark.parametrize(("rule", "example", "expected"), CASES)
def test_catalogue_example(rule, example: str, expected: bool) -> None:
    assert rule_covers(rule, example) is expected


def test_catalogue_has_at_least_80_entries_each_with_reason_and_examples() -> None:
    assert len(RULES) >= 80
    for rule in RULES:
        assert rule.kind in (EXEC_ASK, EXEC_DENY), rule.where
        assert rule.reason and "\n" not in rule.reason and len(rule.reason) <= 90, rule.where
        assert rule.match and rule.no_match, rule.where
        assert rule.source == "destructive.toml" and rule.line > 1


@pytest.mark.parametrize("topic", [
    "terraform destroy", "tofu destroy", "terraform apply -destroy", "terraform state rm x",
    "pulumi destroy", "pulumi stack rm x", "cdk destroy", "aws cloudformation delete-stack --stack-name x",
    "aws s3 rb s3://x", "aws s3 rm --recursive s3://x", "aws ec2 terminate-instances --instance-ids i",
    "aws rds delete-db-instance --db-instance-identifier x", "aws dynamodb delete-table --table-name x",
    "aws iam delete-user --user-name x", "gcloud compute instances delete x", "gcloud projects delete x",
    "gcloud sql instances delete x", "az group delete -n x", "az vm delete -n x", "kubectl delete ns x",
    "kubectl drain node", "kubectl scale deploy/x --replicas=0", "helm uninstall x", "helm delete x",
    "railway down", "railway delete", "railway volume delete", "fly apps destroy x",
    "fly volumes destroy x", "heroku apps:destroy", "heroku pg:reset", "vercel remove x", "vercel rm x",
    "netlify sites:delete x", "supabase db reset", "supabase projects delete x",
    "psql -c 'DROP TABLE x'", "mysql -e 'TRUNCATE t'", "sqlite3 db 'DELETE FROM t'",
    "mongosh --eval 'db.dropDatabase()'", "redis-cli FLUSHALL", "dropdb x", "git push --force",
    "git push -f", "git push --mirror", "git push origin +main", "git reset --hard", "git clean -fdx",
    "git filter-branch x", "git filter-repo x", "git branch -D x", "git push --delete origin x",
    "git reflog expire --all", "git gc --prune=now", "rm -rf ~/x", "find / -delete", "shred x",
    "mkfs.ext4 /dev/sda", "dd if=x of=/dev/sda", "wipefs -a /dev/sda", "docker system prune",
    "docker volume rm x", "docker volume prune", "docker rm -f x", "podman volume rm x",
    "gh repo delete x", "gh release delete x", "npm unpublish x", "curl -X DELETE https://x",
    "curl -d '{\"query\":\"mutation { volumeDelete(id: 1) }\"}' https://x",
    "crontab -r", "chmod -R 777 /", "chown -R x /etc", "systemctl stop x", "systemctl disable x",
    "kill -9 -1", "shutdown now", "reboot",
])
def test_the_catalogue_covers(topic: str) -> None:
    verdict = ExecPolicy(RULES, home="/home/user", writable=("/tmp",)).decide(example_event(topic))
    assert verdict.action.value in ("ask", "deny"), topic


def test_default_includes_the_catalogue_and_checks_its_examples(tmp_path: Path) -> None:
    loaded = load_profile(cwd=tmp_path, home=tmp_path / "h", env={}, profile="default")
    sources = [path.name for path in loaded.profile.sources]
    assert sources == ["destructive.toml", "default.toml"]
    assert len(loaded.profile.exec_rules) == len(RULES)
    count, failures = run_examples(loaded.profile, home=tmp_path / "h")
    assert failures == [] and count >= sum(len(r.match) + len(r.no_match) for r in RULES)
