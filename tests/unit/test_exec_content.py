"""What commands carry: SQL, HTTP methods, GraphQL mutations, target paths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.execrules.conditions import Places, all_processes, device, outside_workspace
from jail.execrules.content import (
    destructive_mutation,
    destructive_name,
    destructive_sql,
    graphql_documents,
    http_method,
)
from jail.execrules.invocations import Invocation
from jail.execrules.shell import split_commands

pytestmark = pytest.mark.unit

SQL = [
    ("DROP TABLE users", "DROP TABLE"),
    ("drop table if exists users cascade", "DROP TABLE"),
    ("DROP DATABASE shop;", "DROP DATABASE"),
    ("drop schema public cascade", "DROP SCHEMA"),
    ("ALTER TABLE t DROP COLUMN email", "DROP COLUMN"),
    ("TRUNCATE orders", "TRUNCATE"),
    ("truncate table orders restart identity", "TRUNCATE"),
    ("DELETE FROM users", "DELETE without WHERE"),
    ("delete from users;", "DELETE without WHERE"),
    ("BEGIN; DELETE FROM sessions; COMMIT;", "DELETE without WHERE"),
    ("DELETE FROM users WHERE 1=1", "DELETE with an always-true WHERE"),
    ("delete from t where true", "DELETE with an always-true WHERE"),
    ("UPDATE users SET role = 'admin'", "UPDATE without WHERE"),
    ("FLUSHALL", "FLUSHALL"),
    ("flushdb async", "FLUSHDB"),
    ("db.dropDatabase()", "dropDatabase()"),
    ("db.getCollection('x').drop()", "drop()"),
    ("db.users.remove({})", "remove()"),
    ("SELECT 1", None),
    ("DELETE FROM users WHERE id = 4", None),
    ("delete from t where created_at < now() - interval '30 days'", None),
    ("UPDATE users SET a = 1 WHERE id = 2", None),
    ("SELECT * FROM logs WHERE msg = 'DROP TABLE x'", None),
    ("-- DROP TABLE users\nSELECT 1", None),
    ("/* TRUNCATE x */ SELECT 1", None),
    ("SELECT TRUNCATE(2.5, 0)", None),
    ("CREATE TABLE dropped_items (id int)", None),
    ("db.users.find({})", None),
]


@pytest.mark.parametrize(("text", "found"), SQL)
def test_destructive_sql(text: str, found: str | None) -> None:
    assert destructive_sql(text) == found


@pytest.mark.parametrize(("args", "positional", "method"), [
    (("-X", "DELETE", "https://x"), None, "DELETE"),
    (("-XDELETE", "https://x"), None, "DELETE"),
    (("-sSX", "delete", "https://x"), None, "DELETE"),
    (("--request=DELETE", "https://x"), None, "DELETE"),
    (("--method", "DELETE", "https://x"), None, "DELETE"),
    (("https://x", "-d", "a=1"), None, None),
    (("-H", "X-Method: DELETE", "https://x"), None, None),
    (("-X", "POST", "-H", "X-HTTP-Method-Override: DELETE", "https://x"), None, "DELETE"),
    (("-d", "_method=delete&id=3", "https://x"), None, "DELETE"),
    (("DELETE", "x.io/a"), (("DELETE", False), ("x.io/a", False)), "DELETE"),
    (("-a", "u:p", "delete", "x.io/a"), (("u:p", True), ("delete", False), ("x.io/a", False)), "DELETE"),
    (("x.io/a", "DELETE"), (("x.io/a", False), ("DELETE", False)), None),
])
def test_http_method(args, positional, method) -> None:
    assert http_method(args, positional) == method


@pytest.mark.parametrize(("name", "destructive"), [
    ("volumeDelete", True), ("deleteProject", True), ("projectDelete", True), ("dropTable", True),
    ("removeMember", True), ("destroyEnvironment", True), ("delete_user", True), ("HTTPDelete", True),
    ("bulkDeleteUsers", True), ("serviceInstanceDelete", True),
    ("deletedAt", False), ("undelete", False), ("updateUser", False), ("dropdown", False),
    ("removed", False), ("projectCreate", False),
])
def test_destructive_names(name: str, destructive: bool) -> None:
    assert destructive_name(name) is destructive


@pytest.mark.parametrize(("body", "found"), [
    ('mutation { volumeDelete(volumeId: "v") }', "volumeDelete"),
    ('mutation($id: String!) { volumeDelete(volumeId: $id) }', "volumeDelete"),
    ('{"query": "mutation { serviceDelete(id: \\"s\\") }"}', "serviceDelete"),
    ('[{"query": "mutation { a }"}, {"query": "mutation { b: deleteUser(id: 1) { id } }"}]', "deleteUser"),
    ("query=mutation%20%7B%20deleteRepo(id%3A%201)%20%7D", "deleteRepo"),
    ('mutation Cleanup { projectUpdate(id: 1) { id } removeToken(id: 2) }', "removeToken"),
    ('mutation { projectUpdate(input: {name: "delete me"}) { id deletedAt } }', None),
    ('query { deleteRequests { id } }', None),
    ('{"query": "{ me { id } }"}', None),
])
def test_graphql_mutations(body: str, found: str | None) -> None:
    hits = [destructive_mutation(document) for document in graphql_documents([body])]
    assert (next((h for h in hits if h), None)) == found


def inv(*args: str, program: str = "rm", cwds: tuple[str, ...] = ("/home/u/p",)) -> Invocation:
    return Invocation(program, (program,), args, cwds=cwds)


PLACES = Places(home="/home/u", workspace="/home/u/p", writable=("/tmp", "/home/u/.cache", "/"))


@pytest.mark.parametrize(("invocation", "outside"), [
    (inv("-rf", "/"), True), (inv("-rf", "~"), True), (inv("-rf", ".."), True),
    (inv("-rf", "."), True), (inv("-rf", "/home/u/p"), True), (inv("-rf", "../p"), True),
    (inv("-rf", "$HOME"), True), (inv("-rf", "${HOME}/x"), True), (inv("-rf", "$X"), True),
    (inv("-rf", "/tmp"), True), (inv("-rf", "*"), False), (inv("-rf", "/*"), True),
    (inv("-rf", "build"), False), (inv("-rf", "./a/../b"), False), (inv("-rf", "a/../../x"), True),
    (inv("-rf", "/tmp/x"), False), (inv("-rf", "/home/u/.cache/pip"), False),
    (inv("-rf", "--", "-x"), False), (inv("-rf", "b", cwds=("/home/u/p", "/srv")), True),
    (inv("-rf", "b", cwds=("",)), True), (inv("-rf", "/b", cwds=("",)), True),
    (inv(".", "-delete", program="find"), False), (inv("-delete", program="find"), False),
    (inv("/", "-delete", program="find"), True), (inv("/tmp", "-delete", program="find"), False),
    (inv("-R", "777", "/", program="chmod"), True), (inv("-R", "777", "src", program="chmod"), False),
    (inv("-R", "--reference=a", "/etc", program="chmod"), True),
    (inv("-a", "--delete", "x/", "host:/srv", program="rsync"), True),
])
def test_outside_workspace(invocation: Invocation, outside: bool) -> None:
    assert (outside_workspace(invocation, PLACES) is not None) is outside


def test_devices_and_all_processes() -> None:
    assert device(inv("of=/dev/sda", program="dd"), PLACES) == "/dev/sda"
    assert device(inv("if=/dev/sda", "of=x.img", program="dd"), PLACES) is None
    assert device(inv("/dev/pts/3", "/dev/null", "/dev/shm/x", program="x"), PLACES) is None
    assert all_processes(inv("-9", "-1", program="kill"), PLACES)
    assert all_processes(inv("-s", "TERM", "--", "-1", program="kill"), PLACES)
    assert all_processes(inv("-1", program="kill"), PLACES) is None
    assert all_processes(inv("-9", "1", "-11", program="kill"), PLACES) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab $'\"\\`();|&<>\n#{}=-!*")), max_size=40))
def test_shell_splitting_never_raises(text: str) -> None:
    for command in split_commands(text):
        assert command.words


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('mutation{}()"\\:# aDelete,[]')), max_size=60))
def test_graphql_reading_never_raises(text: str) -> None:
    for document in graphql_documents([text]):
        destructive_mutation(document)
