"""bootstrap(): one place builds Rollcall, and a test swaps an adapter by passing it in."""

from __future__ import annotations

import pytest

from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import Directory, Entry, Kind, Recipient
from rollcall.errors import NotConfigured

from .fakes import FakeDirectory

TEAM = Entry("Team", "team@x.com", Kind.PUBLIC_DL)
PEOPLE = [Entry(n.title(), f"{n}@x.com", Kind.MAILBOX) for n in ("ann", "bob")]


class FakeOrganisation:
    """The Organisation seam over a hand-written directory."""

    kind, auth = "fake", "none"

    def __init__(self, directory: Directory) -> None:
        self.directory_ = directory
        self.asked: list[str | None] = []

    def missing(self) -> list[str]:
        return []

    def directory(self, mailbox: str | None) -> Directory:
        self.asked.append(mailbox)
        return self.directory_

    def version(self) -> str | None:
        return "fake 1.0"

    def probe(self, mailbox: str | None) -> str | None:
        return self.version()

    def details(self, mailbox: str | None) -> dict[str, object]:
        return {"endpoint": "fake://directory"}


def test_every_service_counts_through_the_organisation_it_was_given(tmp_path):
    org = FakeOrganisation(FakeDirectory({TEAM: PEOPLE}))
    services = bootstrap(load_config(environ={}, instance_path=str(tmp_path),
                                     mailbox="megan@x.com"), organisation=org)
    report = services.counts.count([Recipient("Team", "team@x.com")])
    assert report.total == 2 and report.complete and report.exchange_version == "fake 1.0"
    verdict = services.send_check.validate([Recipient("Team", "team@x.com")], record=False)
    assert verdict["action"] == "allow" and verdict["report"]["total"] == 2
    assert org.asked == ["megan@x.com", "megan@x.com"]
    exchange = services.server_info.report("admin@x.com")["exchange"]
    assert exchange["version"] == "fake 1.0" and exchange["directory"] == "fake"
    assert exchange["endpoint"] == "fake://directory"


def test_without_exchange_settings_a_count_names_the_missing_setting(tmp_path):
    services = bootstrap(load_config(environ={}, instance_path=str(tmp_path)))
    with pytest.raises(NotConfigured, match="ROLLCALL_EWS_URL"):
        services.counts.count([Recipient("Team", "team@x.com")])
    assert services.organisation.missing() == ["ews_url", "ews_username", "ews_password"]


def test_a_count_of_only_rollcall_lists_needs_no_exchange(tmp_path):
    from rollcall.lists import counting_as_operator, operator

    services = bootstrap(load_config(environ={}, instance_path=str(tmp_path)))
    services.lists.create_list(operator("test"), "News")
    services.lists.add_contact(operator("test"), "News", "ann@x.com")
    with counting_as_operator():
        report = services.counts.count([Recipient("list:News", "list:News")])
    assert report.total == 1 and report.complete


def test_machines_naming_one_tracking_key_file_sign_links_alike(tmp_path):
    import pytest

    from rollcall.bootstrap import tracking_key
    from rollcall.config import ConfigError

    key = tmp_path / "tracking.key"
    key.write_bytes(bytes(range(32)))
    one, two = (load_config(environ={"ROLLCALL_TRACKING_KEY_FILE": str(key)},
                            instance_path=str(tmp_path / name)) for name in ("a", "b"))
    assert tracking_key(one) == tracking_key(two) == bytes(range(32))
    # Without it each instance folder makes its own: links one machine signs fail elsewhere.
    alone = [tracking_key(load_config(environ={}, instance_path=str(tmp_path / n)))
             for n in ("c", "d")]
    assert alone[0] != alone[1]
    key.write_bytes(b"short")
    with pytest.raises(ConfigError, match="ROLLCALL_TRACKING_KEY_FILE.*32 bytes"):
        load_config(environ={"ROLLCALL_TRACKING_KEY_FILE": str(key)})
