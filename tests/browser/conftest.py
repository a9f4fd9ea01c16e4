"""The pane in Debian's Chromium (Playwright, no browser download) against the real app and the
EWS simulator's demo organisation, with Office.js replaced by tests/browser/office_stub.js."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pane_support import OFFICE_JS
from werkzeug.serving import make_server

from support import demo_config, rollcall_app

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/bin/chromium")
# Without these Chromium keeps calling Google's hosts on a closed network, and as root it needs
# --no-sandbox (see shared/notes/addin.md).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Chromium, once per session; skipped with the reason when absent (a failure under CI)."""
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI must run the browser tests")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Controls:
    """Knobs a test turns on the server under test: a delay before /api/count answers."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.counts = 0


@dataclass
class PaneServer:
    url: str
    controls: Controls


@pytest.fixture(scope="session")
def pane_server(demo_simulator: Any) -> Iterator[PaneServer]:
    """The real app over HTTP on an ephemeral port (HTTPS is the dev server's job, not this)."""
    sim, _ = demo_simulator
    # The pane signs in through the dev issuer; an 8 s deadline lets a test make a partial
    # count with the simulator's latency without waiting the default 20 s.
    # Resolutions are not reused here (ROLLCALL_RESOLVE_TTL_S=0): the failure tests type people
    # other tests counted a moment ago, and must reach the misbehaving Exchange.
    app = rollcall_app(demo_config(sim, deadline_s=8.0, resolve_ttl_s=0))
    controls = Controls()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/api/count":
            controls.counts += 1
            if controls.delay_s:
                time.sleep(controls.delay_s)
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield PaneServer(f"http://127.0.0.1:{server.server_port}", controls)
    server.shutdown()
    thread.join(5)


@dataclass
class Pane:
    """One page of the pane, with what it asked for and what it complained about."""

    page: Any
    base: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)

    def total(self) -> int:
        """The big number, once a result is on screen."""
        self.page.locator("#result").wait_for(state="visible")
        return int(self.page.locator("#total").inner_text().replace(",", ""))

    def settled(self, count: int = 1) -> dict[str, Any]:
        """The last report the API sent, once `count` reports arrived and the pane shows it."""
        deadline = time.monotonic() + 15
        while len(self.reports) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert len(self.reports) >= count, f"{len(self.reports)} of {count} counts arrived"
        report = self.reports[-1]
        self.page.wait_for_function(
            "t => document.querySelector('#total').textContent.replace(/,/g, '') === String(t)"
            " && !document.querySelector('#result').hidden", arg=report["total"], timeout=15000)
        return report

    def paste(self, text: str) -> None:
        self.page.fill("#paste-text", text)
        self.page.click("#paste-count")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def open_pane(browser: Any, pane_server: PaneServer) -> Iterator[Callable[..., Pane]]:
    """open_pane(mode="outlook", to=[...], subject=..., office="stub"|"missing", dark=False,
    routes={pattern: handler}): routes are installed before the pane loads, because the pane
    signs in as soon as it opens and a route added after page.goto can miss that request."""
    contexts: list[Any] = []
    pane_server.controls.delay_s = 0.0

    def open_(mode: str = "browser", office: str = "stub", dark: bool = False, path: str = "/",
              routes: dict[str, Callable[[Any], None]] | None = None, **stub: Any) -> Pane:
        context = browser.new_context(
            viewport={"width": 360, "height": 900},
            color_scheme="dark" if dark else "light",
            permissions=["clipboard-read", "clipboard-write"],
        )
        contexts.append(context)
        page = context.new_page()
        pane = Pane(page, pane_server.url)
        page.on("request", lambda r: pane.requests.append(r.url))
        page.on("console", lambda m: pane.console_errors.append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: pane.console_errors.append(f"pageerror: {e}"))
        page.route("**/api/count", lambda route: _record(pane, route))
        for pattern, handler in (routes or {}).items():
            page.route(pattern, handler)
        page.add_init_script(f"window.__officeConfig = {json.dumps({'mode': mode, **stub})};")
        stub_js = (HERE / "office_stub.js").read_text()
        if office == "stub":
            page.route(OFFICE_JS, lambda route: route.fulfill(
                status=200, content_type="text/javascript", body=stub_js))
        else:
            page.route(OFFICE_JS, lambda route: route.abort("internetdisconnected"))
        page.goto(pane_server.url + path)
        return pane

    yield open_
    for context in contexts:
        context.close()


def _record(pane: Pane, route: Any) -> None:
    """Pass /api/count through to the server and keep the report the pane received."""
    try:
        response = route.fetch()
        body = response.json() if response.ok else None
        route.fulfill(response=response)
    except Exception:  # the pane aborted the request (Cancel): nothing to record
        return
    if body is not None:
        pane.reports.append(body)


@pytest.fixture
def controls(pane_server: PaneServer) -> Controls:
    return pane_server.controls
