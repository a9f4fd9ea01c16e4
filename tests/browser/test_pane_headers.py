"""The pane's files over HTTP: what is served, and the headers Outlook and the CSP need."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from rollcall.api import pane
from support import demo_config, signed_in


@pytest.fixture
def client(demo_simulator: Any) -> FlaskClient:
    """Signed in: the pane's files need no token, the API beside them does."""
    sim, _ = demo_simulator
    client: FlaskClient = signed_in(demo_config(sim))
    return client


def _csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


@pytest.mark.parametrize("path", ["/", "/taskpane.html"])
def test_the_pane_is_frameable_by_outlook_and_loads_office_js_only(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert b'<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js">' in (
        response.data)
    csp = _csp(response)
    assert csp["script-src"] == ["'self'", "https://appsforoffice.microsoft.com"]
    assert csp["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == list(pane.DEFAULT_FRAME_ANCESTORS)
    assert "https://outlook.office.com" in csp["frame-ancestors"]
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_no_page_of_the_pane_has_inline_script(client):
    # The CSP forbids inline script; one slipping into a page would break it only in Outlook.
    for path in ("/taskpane.html", "/commands.html"):
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
        assert re.search(r"\son[a-z]+\s*=", html) is None


@pytest.mark.parametrize("path, mimetype", [
    ("/commands.html", "text/html"),
    ("/sendcheck.js", "text/javascript"),
    ("/taskpane.js", "text/javascript"),
    ("/taskpane.css", "text/css"),
    ("/assets/icon-16.png", "image/png"),
    ("/assets/icon-128.png", "image/png"),
])
def test_add_in_files_are_served(client, path, mimetype):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("path", ["/tools/make_icons.py", "/assets/../tools/make_icons.py",
                                  "/missing.html", "/..%2fpyproject.toml", "/README.md"])
def test_nothing_else_is_served(client, path):
    assert client.get(path).status_code == 404


def test_the_api_is_still_reached(client):
    response = client.post("/api/count", json={"recipients": []})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "no_recipients"


def test_frame_ancestors_come_from_the_configuration(client, monkeypatch):
    services = client.application.extensions["rollcall"]
    monkeypatch.setattr(services, "config", services.config.with_settings(
        frame_ancestors=("'self'", "https://mail.example.com")))
    csp = _csp(client.get("/"))
    assert csp["frame-ancestors"] == ["'self'", "https://mail.example.com"]


def test_the_addin_folder_can_be_moved_for_packaging(tmp_path):
    from rollcall.app import create_app
    from rollcall.config import load_config

    (tmp_path / "taskpane.html").write_text("<!doctype html><title>moved</title>")
    config = load_config(environ={"ROLLCALL_ADDIN_DIR": str(tmp_path)})
    assert b"moved" in create_app(config).test_client().get("/").data
