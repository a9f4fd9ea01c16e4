"""The organisation file example in README.md loads as it is."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ews_simulator import load

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readmes_organisation_example_loads():
    section = README.read_text(encoding="utf-8").split("### Organisation file", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example, "README's organisation file section has no yaml example"
    org = load(yaml.safe_load(example.group(1)))
    megan = org.mailboxes["megan@contoso.com"]
    assert [m.status for m in megan.groups["champions"].members][-2:] == ["Demoted",
                                                                          "Unrecognized"]
    assert org.find("sales@contoso.com").members == ("alex@contoso.com", "allstaff@contoso.com")
