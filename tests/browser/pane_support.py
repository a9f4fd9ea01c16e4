"""Office.js's address, and demo recipients as Office.js hands them to the pane."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"

ALL_STAFF = {"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}
LEADERSHIP = {"displayName": "Leadership Team", "emailAddress": "leadership@contoso.com"}
PARTNERS = {"displayName": "External Partners", "emailAddress": "partners@contoso.com"}
# A contact group from Megan's Contacts arrives with a name and no SMTP address.
CHAMPIONS = {"displayName": "Comms Champions", "emailAddress": ""}
MARKUP = "<img src=x onerror=window.__xss=1>"


def rewrite_reports(page: Any, change: Callable[[dict[str, Any]], None]) -> None:
    """Route /api/count to the real server, with `change` applied to the report it answers."""
    def handle(route: Any) -> None:
        response = route.fetch()
        report = response.json()
        change(report)
        route.fulfill(response=response, body=json.dumps(report))

    page.route("**/api/count", handle)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app over HTTP on a free port with its in-process send worker; yields its URL."""
    from rollcall.bootstrap import start_send_worker

    stop_worker = start_send_worker(app.extensions["rollcall"])
    assert stop_worker is not None
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(5)
        stop_worker()
