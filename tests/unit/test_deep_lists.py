"""Lists nested hundreds deep are counted in full and their report still encodes as JSON: the
tree stops at TREE_DEPTH_SHOWN and says how many lists it left out."""

from __future__ import annotations

import json

from rollcall.core.report import TREE_DEPTH_SHOWN
from rollcall.counting import Settings

from .fakes import FakeDirectory, dl, person
from .helpers import count


def test_a_chain_of_600_lists_is_counted_and_encodes():
    lists = [dl(f"l{i}@x.com", f"L{i}") for i in range(600)]
    members = {lists[i]: [lists[i + 1], person(f"p{i}@x.com")] for i in range(599)}
    members[lists[599]] = [person("end@x.com")]
    report = count(FakeDirectory(members), lists[0], settings=Settings(deadline_s=60))
    assert report["total"] == 600 and report["complete"]
    json.dumps(report)  # raised RecursionError before the tree was cut
    node, depth = report["tree"][0], 1
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth == TREE_DEPTH_SHOWN and node["deeper"] == 600 - TREE_DEPTH_SHOWN
