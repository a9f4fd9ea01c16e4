"""Hostile list names and counts through every list route and the command line: a named 400 (or
exit 2) in plain words, never a 500, a traceback or a download that never answers.

The export's Content-Disposition is read from a real HTTP server (werkzeug's, as `rollcall serve`
runs): a header that is not latin-1 makes it drop the answer, which the test client never shows.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.http import parse_options_header
from werkzeug.serving import make_server

from rollcall.store import open_store
from rollcall.store.members import create
from support import bearer, cli_environ, demo_config, refused, rollcall_app, signed_in

ROLLCALL = Path(sys.executable).with_name("rollcall")


@pytest.fixture
def app(demo_simulator: Any, tmp_path: Path) -> Any:
    return rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path),
                                    rate_limit_per_minute=0))


@pytest.fixture
def client(app: Any) -> Any:
    return signed_in(app)


@pytest.fixture
def served(app: Any) -> Iterator[int]:
    """The app on a real HTTP server: its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def url(name: str, rest: str = "") -> str:
    return f"/api/lists/{quote(name, safe='')}{rest}"


def download(port: int, name: str) -> tuple[int, str, str]:
    """GET the export over HTTP: (status, Content-Disposition, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", url(name, "/export"), headers=bearer())
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Disposition") or "", answer.read().decode()
    finally:
        connection.close()


def filenames(header: str) -> tuple[str, str]:
    """(the plain filename, the one a client reading RFC 6266 takes: filename* decoded)."""
    plain = re.fullmatch(r'attachment; filename="([^"]*)"; filename\*=\S+', header)
    assert plain is not None, header
    disposition, options = parse_options_header(header)
    assert disposition == "attachment"
    return plain.group(1), options["filename"]


# -- the export's file name


@pytest.mark.parametrize("name", ["Ωmega", 'The "A" Team; x=1', "Alex's", "Comms Champions",
                                  "日本語", "a.b ; filename=evil.exe"])
def test_the_export_of_any_list_answers_with_a_safe_file_name(client, served, name):
    assert client.post("/api/lists", json={"name": name}).status_code == 201
    assert client.post(url(name, "/members"), json={"email": "ann@fabrikam.com"}).status_code \
        == 201
    status, header, body = download(served, name)
    assert status == 200
    assert body.splitlines()[1].startswith("ann@fabrikam.com,")
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert header.startswith("attachment; filename=")
    plain, decoded = filenames(header)
    assert plain.endswith(".csv") and plain != ".csv"
    assert not set(plain) & set('"\\/;\r\n'), plain
    assert decoded == f"{name}.csv"


def test_an_ascii_name_keeps_its_spelling_in_the_plain_file_name(client, served):
    client.post("/api/lists", json={"name": "Comms-Champions_2"})
    status, header, _ = download(served, "Comms-Champions_2")
    assert status == 200 and filenames(header)[0] == "Comms-Champions_2.csv"


# -- list names: refused when a list could not be reached by them, welcome otherwise

UNREACHABLE = [("x/y", "'/'"), ("back\\slash", "'\\'"), (".", "'.'"), ("..", "'..'"),
               ("list:list:x", "'list:'"), ("tab\there", "control character"),
               ("x" * 101, "100 characters"), ("line\nbreak", "line break")]


@pytest.mark.parametrize(("name", "says"), UNREACHABLE)
def test_a_list_name_no_route_could_reach_is_a_400_saying_what_is_allowed(client, name, says):
    message = refused(client.post("/api/lists", json={"name": name}), "bad_list_name", says)
    assert "A list name is 1 to 100 characters" in message
    assert client.get("/api/lists").get_json() == []


@pytest.mark.parametrize("path", ["/api/lists/%2E%2E/import", "/api/lists/list:list:x/import",
                                  "/api/lists/%ED%A0%80/import", "/api/lists/tab%09x/import"])
def test_an_import_does_not_create_a_list_by_a_name_refused_elsewhere(client, path):
    answer = client.post(path, data=b"email\nann@fabrikam.com\n", content_type="text/csv")
    refused(answer, "bad_list_name", "A list name is")
    assert client.get("/api/lists").get_json() == []


@pytest.mark.parametrize("name", ["Alex's", "Comms Champions", "Ωmega", "50% off", "R&D?",
                                  "Sales; EMEA", "a#b"])
def test_names_with_spaces_apostrophes_and_punctuation_work_through_every_route(client, name):
    assert client.post("/api/lists", json={"name": name}).status_code == 201
    assert client.post(url(name, "/members"), json={"email": "ann@fabrikam.com"}).status_code \
        == 201
    assert client.get(url(name)).get_json()["list"]["name"] == name
    assert client.get(url(name, "/history")).status_code == 200
    shared = client.post(url(name, "/shares"), json={"person": "alex@contoso.com"})
    assert shared.status_code == 200
    assert client.delete(url(name, "/members/ann@fabrikam.com")).status_code == 200
    report = client.post("/api/count", json={"recipients": [
        {"displayName": f"list:{name}", "emailAddress": f"list:{name}"}]}).get_json()
    assert report["total"] == 0 and report["tree"][0]["name"] == name


# -- lone surrogates and NUL, wherever a list's name arrives

NAME_ROUTES = [("get", "", None), ("post", "/members", {"email": "ann@fabrikam.com"}),
               ("delete", "/members/ann@fabrikam.com", None), ("get", "/export", None),
               ("get", "/history", None), ("get", "/shares", None),
               ("post", "/shares", {"person": "alex@contoso.com"}),
               ("delete", "/shares?person=alex@contoso.com", None),
               ("put", "/owner", {"owner": "alex@contoso.com"}),
               ("post", "/import", None)]


def call(client: Any, method: str, path: str, body: Any) -> Any:
    if path.endswith("/import"):
        return client.post(path, data=b"email\nann@fabrikam.com\n", content_type="text/csv")
    return getattr(client, method)(path, json=body)


@pytest.mark.parametrize(("method", "rest", "body"), NAME_ROUTES)
def test_a_nul_in_a_list_name_in_the_path_is_a_400_on_every_route(client, method, rest, body):
    answer = call(client, method, f"/api/lists/a%00b{rest}", body)
    refused(answer, "bad_list_name", "NUL")


@pytest.mark.parametrize(("method", "rest", "body"), NAME_ROUTES)
def test_bytes_that_are_not_utf8_in_the_path_find_no_list_and_never_fail(client, method, rest,
                                                                       body):
    # The server decodes them to U+FFFD, which no list's name may hold: never a 500.
    answer = call(client, method, f"/api/lists/%ED%A0%80{rest}", body)
    if rest == "/import":  # which would create the list: refused by name
        refused(answer, "bad_list_name", "U+FFFD")
    else:
        assert answer.status_code == 404, answer.get_data(as_text=True)[:300]
        assert answer.get_json()["error"]["code"] == "list_not_found"


def test_a_snapshot_into_a_list_by_a_name_not_utf8_is_a_400(client):
    answer = client.post("/api/lists/%ED%A0%80/snapshot", json={"exchange": "partners@contoso.com"})
    refused(answer, "bad_list_name", "U+FFFD")


@pytest.mark.parametrize("path", ["/api/audit?list=a%00b",
                                  "/api/contacts/ann@fabrikam.com?list=a%00b"])
def test_a_nul_in_a_list_name_in_the_query_is_a_400(client, path):
    client.post("/api/lists", json={"name": "Crew"})
    client.post("/api/lists/Crew/members", json={"email": "ann@fabrikam.com"})
    method = client.get if path.startswith("/api/audit") else client.delete
    refused(method(path), "bad_list_name", "NUL")


def test_a_lone_surrogate_in_a_nested_list_name_is_a_400(client):
    client.post("/api/lists", json={"name": "Crew"})
    answer = client.post("/api/lists/Crew/members",
                         data=b'{"list": "\\ud800"}', content_type="application/json")
    refused(answer, "bad_list", "surrogate")


# -- addresses a spreadsheet would run


def test_an_address_that_is_a_formula_is_refused_naming_it_and_exports_are_neutralised(client):
    client.post("/api/lists", json={"name": "Crew"})
    evil = "=cmd|'/Ccalc'!A0@evil.com"
    answer = client.post("/api/lists/Crew/members", json={"email": evil})
    assert answer.status_code == 400 and evil in answer.get_json()["error"]["message"]
    answer = client.post("/api/lists/Crew/members", json={
        "email": "ann@fabrikam.com", "name": "=HYPERLINK(\"http://evil\")",
        "attributes": {"phone": "+44 20 7946 0000"}})
    assert answer.status_code == 201
    exported = client.get("/api/lists/Crew/export").get_data(as_text=True)
    assert exported.splitlines()[1] == \
        "ann@fabrikam.com,\"'=HYPERLINK(\"\"http://evil\"\")\",false,'+44 20 7946 0000"
    client.post("/api/lists", json={"name": "Copy"})
    imported = client.post("/api/lists/Copy/import", data=exported.encode(),
                           content_type="text/csv")
    assert imported.status_code == 200, imported.get_json()
    [member] = client.get("/api/lists/Copy").get_json()["active"]
    assert member["name"] == "=HYPERLINK(\"http://evil\")"


# -- the command line


@pytest.fixture
def rollcall(tmp_path: Path) -> Any:
    env = cli_environ()
    env["ROLLCALL_INSTANCE_PATH"] = str(tmp_path / "instance")

    def run(*args: str | bytes) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROLLCALL), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    return run


def exits_2(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("expected", ["100000000000000000000", "10000001", "-1", "ten",
                                      "1" * 5000])
def test_an_expected_count_outside_the_apis_bound_exits_2_saying_the_bound(rollcall, expected):
    exits_2(rollcall("lists", "create", "Big", "--expected", expected),
            "--expected", "from 0 to 10,000,000")
    assert rollcall("lists", "all").stdout == ""


def test_an_expected_count_of_ten_million_is_taken(rollcall):
    made = rollcall("lists", "create", "Big", "--expected", "10000000")
    assert made.returncode == 0, made.stderr
    assert "expected 10000000" in rollcall("lists", "show", "Big").stdout


def test_the_command_line_and_the_api_bound_expected_alike():
    from rollcall.api.inputs import MAX_EXPECTED as API
    from rollcall.store.repository import MAX_EXPECTED as STORE

    assert API == STORE == 10_000_000


@pytest.mark.parametrize("args", [
    (b"lists", b"create", b"News\xff"),
    (b"lists", b"show", b"\xed\xa0\x80"),
    (b"lists", b"export", b"\xff"),
    (b"lists", b"add", b"\xff", b"ann@fabrikam.com"),
    (b"lists", b"add", b"Crew", b"\xff", b"--list"),
    (b"lists", b"owner", b"\xff", b"alex@contoso.com"),
    (b"contacts", b"delete", b"ann@fabrikam.com", b"--list", b"\xff"),
    (b"lists", b"share", b"Crew", b"--group", b"g\xff"),
])
def test_bytes_that_are_not_utf8_on_the_command_line_exit_2_in_words(rollcall, args):
    assert rollcall("lists", "create", "Crew").returncode == 0
    assert rollcall("lists", "add", "Crew", "ann@fabrikam.com").returncode == 0
    exits_2(rollcall(*args), "surrogate")


@pytest.mark.parametrize(("name", "says"), UNREACHABLE[:6])
def test_the_command_line_refuses_unreachable_names_too(rollcall, name, says):
    exits_2(rollcall("lists", "create", name), says, "A list name is")


def test_lists_named_before_the_rules_are_reached_from_the_command_line(rollcall, tmp_path):
    store = open_store(None, str(tmp_path / "instance"))
    try:
        for name in ("x/y", "..", "list:x"):
            store._tx.write(lambda s, name=name: create(s, name, "cli:old", None))
    finally:
        store.close()
    for name in ("x/y", "..", "list:x"):
        added = rollcall("lists", "add", name, "ann@fabrikam.com")
        assert added.returncode == 0, added.stderr
        assert rollcall("lists", "export", name).stdout.splitlines()[1].startswith("ann@")
        assert rollcall("lists", "remove", name, "ann@fabrikam.com").returncode == 0
        owner = rollcall("lists", "owner", name, "alex@contoso.com")
        assert owner.returncode == 0 and "now belongs to alex@contoso.com" in owner.stdout


def test_a_list_named_dot_dot_before_the_rules_is_reached_percent_encoded(client, tmp_path):
    store = open_store(None, str(tmp_path))
    try:
        store._tx.write(lambda s: create(s, "..", "megan@contoso.com", None))
    finally:
        store.close()
    assert client.post("/api/lists/%2E%2E/members",
                       json={"email": "ann@fabrikam.com"}).status_code == 201
    answer = client.get("/api/lists/%2E%2E/export")
    assert answer.status_code == 200
    assert filenames(answer.headers["Content-Disposition"]) == ("list.csv", "list.csv")
