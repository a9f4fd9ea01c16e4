"""Office.js's address, and demo recipients as Office.js hands them to the pane."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
