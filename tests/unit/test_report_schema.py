"""The OpenAPI schema of the report is the typed report's: field by field, enums included, so the
report's shape is written down once (core/report_types.py) and the schema cannot drift from it."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any, get_args, get_type_hints

import pytest

from rollcall.api.openapi_schemas import SCHEMAS
from rollcall.core import findings as f
from rollcall.core.attribution import Contribution, DriftGroup
from rollcall.core.model import Entry, Kind
from rollcall.core.report_types import (
    REPORT_FIELDS,
    CountReport,
    Drift,
    ExpectedSource,
    Finding,
    NodeStatus,
    TreeNode,
)

from .fakes import FakeDirectory
from .helpers import count

TYPES = {"Report": CountReport, "Finding": Finding, "TreeNode": TreeNode, "Drift": Drift,
         "DriftGroup": DriftGroup, "Contribution": Contribution}


def json_fields(cls: type) -> set[str]:
    names = {field.name for field in dataclasses.fields(cls)}
    if cls is Contribution:
        return names | {"shared"}  # a property: people - only
    return set(REPORT_FIELDS) if cls is CountReport else names


@pytest.mark.parametrize("name", sorted(TYPES))
def test_the_schema_has_exactly_the_types_fields(name):
    assert set(SCHEMAS[name]["properties"]) == json_fields(TYPES[name])


@pytest.mark.parametrize("name", sorted(TYPES))
def test_required_fields_are_the_ones_always_written(name):
    cls = TYPES[name]
    # A finding's optional facts and a repeat's path are left out of the JSON when None;
    # the report's nullable fields are always written (as null).
    sometimes = {"TreeNode": {"repeat_of", "deeper", "estimate"},
                 "Finding": {field.name for field in dataclasses.fields(Finding)[5:]}}
    assert set(SCHEMAS[name]["required"]) == json_fields(cls) - sometimes.get(name, set())


@pytest.mark.parametrize(("schema", "field", "values"), [
    ("Finding", "code", "FindingCode"), ("Finding", "severity", "Severity"),
    ("Finding", "source", "ExpectedSource"), ("TreeNode", "status", "NodeStatus"),
    ("Report", "expected_source", "ExpectedSource"),
])
def test_every_enum_is_the_types_own(schema, field, values):
    hints = get_type_hints(TYPES[schema])
    enum_type = next(t for t in (hints[field], *get_args(hints[field]))
                     if isinstance(t, type) and issubclass(t, StrEnum))
    assert enum_type.__name__ == values
    assert SCHEMAS[schema]["properties"][field]["enum"] == [v.value for v in enum_type]


def test_a_list_owners_expectation_and_every_tree_status_are_documented():
    # The drift this test was written for: "list" was emitted but missing from the schema,
    # and "pending" was documented though nothing produces it.
    assert "list" in SCHEMAS["Report"]["properties"]["expected_source"]["enum"]
    assert ExpectedSource.LIST.value == "list"
    assert "pending" not in SCHEMAS["TreeNode"]["properties"]["status"]["enum"]
    assert {s.value for s in NodeStatus} == {"expanded", "truncated", "failed", "cycle",
                                             "cached"}


def test_a_real_reports_json_has_only_documented_keys():
    team = Entry("Team", "team@x.com", Kind.PUBLIC_DL)
    ann = Entry("Ann", "ann@x.com", Kind.MAILBOX)
    directory = FakeDirectory({team: [ann, team]})
    report = count(directory, team, "Nobody", expected=5)
    assert set(report) == set(SCHEMAS["Report"]["properties"])
    for finding in report["findings"]:
        assert set(finding) <= set(SCHEMAS["Finding"]["properties"]), finding
    assert {x["code"] for x in report["findings"]} >= {"cycle", "unresolved", "count_mismatch"}
    for node in report["tree"]:
        assert set(node) <= set(SCHEMAS["TreeNode"]["properties"])


def test_a_findings_optional_facts_reach_its_json_and_nothing_else_does():
    mismatch = f.count_mismatch(5, 3, {"duplicates": 1, "undeliverable": 0,
                                       "deleted_contacts": 0, "incomplete_lists": 0,
                                       "external": 0}, True, "list")
    data: dict[str, Any] = mismatch.to_json()
    assert data["source"] == "list" and data["difference"] == -2
    assert "top" not in data and "rule" not in data
    assert f.unresolved_top("Nobody").to_json()["top"] is True


def test_a_verdicts_findings_are_report_findings_that_name_their_rule():
    from rollcall.core.model import CountRequest, Recipient, Resolution
    from rollcall.core.policy import Policy, evaluate
    from rollcall.core.report import build_report

    report = build_report(CountRequest([Recipient("Nobody")]),
                          [Resolution("Nobody", None, "unresolved")], {}, {})
    verdict = evaluate(report, Policy()).to_json()
    item = SCHEMAS["Verdict"]["properties"]["findings"]["items"]
    assert item["allOf"][0] == {"$ref": "#/components/schemas/Finding"}
    assert verdict["findings"]
    for finding in verdict["findings"]:
        assert set(item["allOf"][1]["required"]) <= set(finding)
        assert set(finding) <= set(SCHEMAS["Finding"]["properties"])
