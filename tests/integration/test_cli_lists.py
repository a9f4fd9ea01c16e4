"""`rollcall lists` and `rollcall contacts` through the installed console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import cli_environ

ROLLCALL = Path(sys.executable).with_name("rollcall")


@pytest.fixture
def rollcall(tmp_path):
    env = cli_environ()
    env["ROLLCALL_INSTANCE_PATH"] = str(tmp_path / "instance")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(ROLLCALL), *args], env=env, capture_output=True, text=True,
                              timeout=60)

    return run


def test_import_count_delete_and_restore_a_list(rollcall, tmp_path):
    csv_file = tmp_path / "news.csv"
    csv_file.write_text("email,name,team\nann@fabrikam.com,Ann,Sales\nbob@example.org,Bob,\n")
    imported = rollcall("lists", "import", "Newsletter", str(csv_file))
    assert imported.returncode == 0, imported.stderr
    assert "2 added" in imported.stdout
    counted = rollcall("count", "list:Newsletter")
    assert counted.returncode == 0 and counted.stdout.startswith("2 unique recipients")

    assert rollcall("contacts", "delete", "ann@fabrikam.com", "--all").returncode == 0
    counted = rollcall("count", "list:Newsletter")
    assert counted.stdout.startswith("1 unique recipient\n")
    assert "last count 2, difference -1" in counted.stdout
    assert "Last time these recipients came to 2 people; now 1 (1 fewer). Since" in counted.stdout
    assert "ann@fabrikam.com was deleted from all lists by cli:" in counted.stdout
    shown = rollcall("lists", "show", "Newsletter")
    assert "deleted  ann@fabrikam.com from all lists" in shown.stdout

    assert rollcall("contacts", "restore", "ann@fabrikam.com").returncode == 0
    assert rollcall("count", "list:Newsletter").stdout.startswith("2 unique recipients")
    history = rollcall("lists", "history", "Newsletter")
    assert [line.split()[-2] for line in history.stdout.splitlines()] == ["2", "1", "2"]


def test_a_bad_import_changes_nothing_and_names_each_line(rollcall, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("email\nkeep@example.org\n")
    rollcall("lists", "import", "Team", str(good))
    bad = tmp_path / "bad.csv"
    bad.write_text("email;name\nnew@example.org;New\nnot-an-address;Oops\n")
    result = rollcall("lists", "import", "Team", str(bad))
    assert result.returncode == 2
    assert "line 3: not-an-address: bad_address" in result.stderr
    exported = rollcall("lists", "export", "Team").stdout.splitlines()
    assert exported[1:] == ["keep@example.org,,false"]
    skipped = rollcall("lists", "import", "Team", str(bad), "--skip-invalid")
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout


def test_unknown_lists_and_usage_errors_exit_2(rollcall):
    missing = rollcall("lists", "show", "Nope")
    assert missing.returncode == 2 and "Nope" in missing.stderr
    assert rollcall("contacts", "delete", "a@b.com").returncode == 2  # --list or --all needed


def test_a_lists_own_expected_count_is_what_a_count_compares_against(rollcall):
    assert rollcall("lists", "create", "Board", "--expected", "3").returncode == 0
    rollcall("lists", "add", "Board", "ann@fabrikam.com")
    counted = rollcall("count", "list:Board")
    assert "expected 3, difference -2" in counted.stdout
    assert "This list is expected to reach 3; 1 unique person will receive it" in counted.stdout


def test_the_command_line_acts_as_an_administrator_and_hands_lists_over(rollcall, tmp_path):
    from rollcall.store import open_store
    from rollcall.store.access import NotYourList, Principal

    megan = Principal.person("megan@contoso.com")
    assert rollcall("lists", "create", "Ops").returncode == 0
    assert rollcall("lists", "add", "Ops", "ann@fabrikam.com").returncode == 0
    store = open_store(None, str(tmp_path / "instance"))
    try:
        owner = store.get_list("Ops").owner
        assert owner.startswith("cli:")  # nobody's: administrators only, until handed over
        with pytest.raises(NotYourList):
            store.get_list("Ops", who=megan)
        handed = rollcall("lists", "owner", "Ops", "Megan@Contoso.com")
        assert handed.returncode == 0 and "megan@contoso.com" in handed.stdout
        assert store.get_list("Ops", who=megan).owner == "megan@contoso.com"
        shared = rollcall("lists", "share", "Ops", "--group", "G-1", "--role", "editor")
        assert shared.returncode == 0, shared.stderr
        assert "shared with the group g-1 as editor" in rollcall("lists", "show", "Ops").stdout
        alex = Principal.person("alex@contoso.com", ["g-1"])
        store.add_contact("Ops", "bob@fabrikam.com", "alex@contoso.com", who=alex)
        assert rollcall("lists", "unshare", "Ops", "--group", "g-1").returncode == 0
        with pytest.raises(NotYourList):
            store.get_list("Ops", who=alex)
    finally:
        store.close()
    assert "Ops  owner megan@contoso.com" in rollcall("lists", "all").stdout
    # Still counted and purged from the command line, whoever owns the list.
    assert rollcall("count", "list:Ops").stdout.startswith("2 unique recipients")
    purged = rollcall("contacts", "delete", "ann@fabrikam.com", "--all", "--purge-tracking")
    assert purged.returncode == 0 and "tracking purged" in purged.stdout
    missing = rollcall("lists", "owner", "Ops", "not an address")
    assert missing.returncode == 2 and "not a valid address" in missing.stderr
