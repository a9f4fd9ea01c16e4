"""manifest.xml checked offline: Microsoft's element order, ids, resids, URLs, launch events."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from rollcall import manifest

REPO = Path(__file__).resolve().parents[2]
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
OTHER_CLIENT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

# The xs:sequence of each parent used here, from OfficeAppManifestV1_1.xsd and
# MailAppVersionOverridesV1_0/V1_1.xsd as MS-OWEMXML publishes them (types extended by
# xsi:type list the base sequence first). A child must be listed and appear in this order.
ORDER: dict[str, list[str]] = {
    "OfficeApp/MailApp": [
        "Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName",
        "Description", "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts",
        "Requirements", "FormSettings", "Permissions", "Rule", "DisableEntityHighlighting",
        "Dictionary", "VersionOverrides"],
    "Requirements": ["Sets", "Methods"],
    "FormSettings": ["Form"],
    "Form/ItemEdit": ["DesktopSettings", "TabletSettings", "PhoneSettings"],
    "DesktopSettings": ["SourceLocation", "RequestedHeight"],
    "Rule/RuleCollection": ["Rule"],
    "VersionOverrides/VersionOverridesV1_0": [
        "Description", "Requirements", "Hosts", "Resources", "VersionOverrides"],
    "VersionOverrides/VersionOverridesV1_1": [
        "Description", "Requirements", "Hosts", "Resources", "WebApplicationInfo",
        "EquivalentAddins", "ExtendedPermissions", "VersionOverrides"],
    "Hosts": ["Host"],
    "Host/MailHost": ["Runtimes", "DesktopFormFactor", "MobileFormFactor"],
    "Runtimes": ["Runtime"],
    "Runtime": ["Override"],
    "DesktopFormFactor": ["SupportsSharedFolders", "FunctionFile", "ExtensionPoint"],
    "ExtensionPoint/MessageComposeCommandSurface": ["OfficeTab", "CustomTab"],
    "ExtensionPoint/LaunchEvent": ["LaunchEvents", "SourceLocation"],
    "LaunchEvents": ["LaunchEvent"],
    "OfficeTab": ["Group"],
    "Group": ["Label", "Control"],
    "Control/Button": ["Label", "Supertip", "Icon", "Action"],
    "Supertip": ["Title", "Description"],
    "Icon": ["Image"],
    "Action/ShowTaskpane": ["SourceLocation", "SupportsPinning"],
    "Resources": ["Images", "Urls", "ShortStrings", "LongStrings"],
    "Images": ["Image"],
    "Urls": ["Url"],
    "ShortStrings": ["String"],
    "LongStrings": ["String"],
    "WebApplicationInfo": ["Id", "Resource", "Scopes"],
    "Scopes": ["Scope"],
    "AppDomains": ["AppDomain"],
}
LEAVES = {"Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description",
          "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomain", "Permissions",
          "DisableEntityHighlighting", "Set", "SourceLocation", "Label", "Title", "Image", "Url",
          "String", "Resource", "Scope", "LaunchEvent", "Override", "Host", "Rule", "Sets"}


def _local(e: etree._Element) -> str:
    return etree.QName(e).localname


def _key(e: etree._Element) -> str:
    kind = e.get(XSI_TYPE)
    return f"{_local(e)}/{kind}" if kind else _local(e)


def order_problems(root: etree._Element) -> list[str]:
    """Children missing from their parent's sequence, or out of its order."""
    problems = []
    for parent in root.iter(etree.Element):
        key = _key(parent)
        sequence = ORDER.get(key) or ORDER.get(_local(parent))
        children = [_local(c) for c in parent if isinstance(c.tag, str)]
        if sequence is None:
            if children and _local(parent) not in LEAVES | {"Sets"}:
                problems.append(f"{key}: no known order for its children {children}")
            continue
        positions = []
        for name in children:
            if name not in sequence:
                problems.append(f"{key}: {name} is not a child it may have")
            else:
                positions.append(sequence.index(name))
        if positions != sorted(positions):
            problems.append(f"{key}: children {children} are out of order")
    return problems


def parse(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


@pytest.fixture(scope="module")
def committed() -> str:
    return (REPO / "manifest.xml").read_text()


@pytest.fixture(scope="module")
def root(committed: str) -> etree._Element:
    return parse(committed)


def test_committed_manifest_is_what_the_command_writes_byte_for_byte():
    written = subprocess.run(
        [sys.executable, "-m", "rollcall.cli", "manifest", "--url", "https://localhost:3000"],
        capture_output=True, check=True).stdout
    assert written == (REPO / "manifest.xml").read_bytes()


def test_elements_follow_microsofts_order(root):
    assert root.get(XSI_TYPE) == "MailApp"
    assert order_problems(root) == []


def test_the_order_check_catches_a_misplaced_element(committed):
    # Resources moved before Hosts: the kind of slip Outlook rejects with a vague message.
    tree = parse(committed)
    inner = next(e for e in tree.iter() if e.get(XSI_TYPE) == "VersionOverridesV1_1")
    resources = next(c for c in inner if _local(c) == "Resources")
    inner.remove(resources)
    inner.insert(1, resources)
    assert any("out of order" in p for p in order_problems(tree))


def test_ids_are_unique(root):
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


RESOURCE_FOR = {"Image": "Images", "SourceLocation": "Urls", "Runtime": "Urls", "Override": "Urls",
                "Label": "ShortStrings", "Title": "ShortStrings", "Description": "LongStrings"}


def test_every_resid_resolves_to_a_resource_of_the_right_kind(root):
    resources = next(e for e in root.iter() if _local(e) == "Resources")
    defined = {_local(group): {e.get("id") for e in group} for group in resources}
    references = [e for e in root.iter() if e.get("resid")]
    assert references
    for e in references:
        resid = e.get("resid")
        assert len(resid) <= 32, f"resid {resid} is longer than the schema allows"
        assert resid in defined[RESOURCE_FOR[_local(e)]], f"{_local(e)} resid={resid}"
    used = {e.get("resid") for e in references}
    assert set().union(*defined.values()) == used  # nothing defined and left unused


def _urls(root: etree._Element) -> list[str]:
    found = [e.get("DefaultValue") for e in root.iter() if "://" in (e.get("DefaultValue") or "")]
    found += [e.text for e in root.iter() if e.text and "://" in e.text]
    return found


def test_every_url_is_https_on_one_host(root):
    urls = _urls(root)
    assert len(urls) >= 10
    web = [u for u in urls if not u.startswith("api://")]
    assert all(u.startswith("https://") for u in web), web
    assert {urlsplit(u).netloc for u in urls} == {"localhost:3000"}


def test_strings_fit_the_schema_lengths(root):
    for e in root.iter():
        value = e.get("DefaultValue")
        if value and _local(e.getparent()) == "ShortStrings":
            assert len(value) <= 125
        if value and _local(e) in ("String", "Description"):
            assert len(value) <= 250


def test_launch_events_run_in_the_send_check_runtime(root):
    runtime = next(e for e in root.iter() if _local(e) == "Runtime")
    point = next(e for e in root.iter() if e.get(XSI_TYPE) == "LaunchEvent")
    source = next(c for c in point if _local(c) == "SourceLocation")
    assert source.get("resid") == runtime.get("resid")
    events = {e.get("Type"): e for e in point.iter() if _local(e) == "LaunchEvent"}
    assert set(events) == {"OnMessageSend", "OnMessageRecipientsChanged"}
    assert events["OnMessageSend"].get("SendMode") == "SoftBlock"
    handler = (REPO / "addin" / "sendcheck.js").read_text()
    for event in events.values():
        assert f'Office.actions.associate("{event.get("FunctionName")}"' in handler


def _url(root: etree._Element, resid: str) -> str:
    return next(e.get("DefaultValue") for e in root.iter() if e.get("id") == resid)


def test_urls_point_at_files_the_add_in_ships(root):
    runtime = next(e for e in root.iter() if _local(e) == "Runtime")
    override = next(e for e in runtime if _local(e) == "Override")
    assert override.get("type") == "javascript"
    assert _url(root, runtime.get("resid")) == "https://localhost:3000/commands.html"
    assert _url(root, override.get("resid")) == "https://localhost:3000/sendcheck.js"
    button = next(e for e in root.iter() if e.get(XSI_TYPE) == "ShowTaskpane")
    assert _url(root, button[0].get("resid")) == "https://localhost:3000/taskpane.html"
    for url in _urls(root):
        path = urlsplit(url).path.lstrip("/")
        if path and not url.startswith("api://"):
            assert (REPO / "addin" / path).is_file(), url


def test_icons_have_the_sizes_the_manifest_says(root):
    for e in root.iter():
        name = re.search(r"/assets/icon-(\d+)\.png$", e.get("DefaultValue") or "")
        if name:
            data = (REPO / "addin" / "assets" / f"icon-{name[1]}.png").read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", data[16:24]) == (int(name[1]), int(name[1]))


def test_requirement_sets_cover_the_events_used(root):
    inner = next(e for e in root.iter() if e.get(XSI_TYPE) == "VersionOverridesV1_1")
    sets = next(e for e in inner.iter() if _local(e) == "Sets")
    # OnMessageSend needs Mailbox 1.12 (OnMessageRecipientsChanged 1.11, the ribbon 1.3).
    assert sets.get("DefaultMinVersion") == "1.12"
    base = next(e for e in root if _local(e) == "Requirements")
    assert base[0][0].get("MinVersion") == "1.1"


def test_web_application_info_is_a_placeholder_for_single_sign_on(root):
    info = next(e for e in root.iter() if _local(e) == "WebApplicationInfo")
    values = {_local(c): c for c in info}
    assert values["Id"].text == manifest.PLACEHOLDER_CLIENT_ID
    assert values["Resource"].text == f"api://localhost:3000/{manifest.PLACEHOLDER_CLIENT_ID}"
    assert [s.text for s in values["Scopes"]] == ["openid", "profile"]


def test_a_manifest_for_another_host_differs_only_in_urls_and_ids(committed):
    other = manifest.render("https://rollcall.example.com/", OTHER_CLIENT)
    assert other != committed
    assert order_problems(parse(other)) == []
    local_id = manifest.addin_id("https://localhost:3000")
    other_id = manifest.addin_id("https://rollcall.example.com")
    assert local_id != other_id
    translated = (committed.replace("https://localhost:3000", "https://rollcall.example.com")
                  .replace("api://localhost:3000", "api://rollcall.example.com")
                  .replace(manifest.PLACEHOLDER_CLIENT_ID, OTHER_CLIENT)
                  .replace(local_id, other_id))
    assert translated == other
    assert {urlsplit(u).netloc for u in _urls(parse(other))} == {"rollcall.example.com"}


@pytest.mark.parametrize("url", ["http://localhost:3000", "https://host/pane", "localhost:3000",
                                 "https://host?x=1", "https://a b"])
def test_only_an_https_origin_is_accepted(url):
    with pytest.raises(ValueError):
        manifest.render(url)


def test_the_command_refuses_bad_input_with_usage_exit_code(capsys):
    from rollcall.cli import main

    assert main(["manifest", "--url", "https://h", "--client-id", "not-a-guid"]) == 2
    assert "client id" in capsys.readouterr().err
    assert main(["manifest", "--url", "http://h"]) == 2


def _unified_check(manifest: Path) -> dict:
    """Microsoft's converter and the unified-manifest schema (node_modules, from `npm ci`)."""
    script = Path(__file__).with_name("unified_manifest.mjs")
    result = subprocess.run(["node", str(script), str(manifest)], capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def unified_tools() -> None:
    """Skip (with the reason) where Node or `npm ci` is missing; under CI that is a failure."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (REPO / "node_modules" / "office-addin-manifest-converter").exists():
        missing = "node_modules is missing: run `npm ci` (make test does when npm is present)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"unified-manifest check cannot run: {missing}")
        pytest.skip(missing)


def test_the_manifest_converts_to_a_valid_unified_manifest(unified_tools):
    outcome = _unified_check(REPO / "manifest.xml")
    assert outcome["valid"] is True, outcome["errors"]


def test_the_unified_schema_check_rejects_a_bad_send_mode(unified_tools, tmp_path):
    bad = tmp_path / "manifest.xml"
    bad.write_text((REPO / "manifest.xml").read_text().replace("SoftBlock", "Whenever"))
    outcome = _unified_check(bad)
    assert outcome["valid"] is False
    assert any("sendMode" in e["instancePath"] for e in outcome["errors"])
