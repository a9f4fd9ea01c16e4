"""The built-in demo organisation: Contoso (contoso.com), ~500 people and the lists a sender meets.

``demo_document()`` returns the organisation as a document in the format ``org.load`` reads. It is
built deterministically (a fixed-seed ``random.Random``), so every run serves the same people.
``python -m ews_simulator.demo`` prints it as JSON.

Passwords: every mailbox in the demo, named or generated, signs in with ``Passw0rd!``
(``DEMO_PASSWORD``). The named users are in ``DEMO_USERS``.

People: generated people have addresses ``first.last@contoso.com`` (a number is appended when the
name is taken, e.g. ``wei.chen2@contoso.com``) and the attributes ``department``, ``division``,
``office``, ``title`` and ``team``.

Lists (public DLs unless said otherwise):

- ``allstaff@`` "All Staff": only division lists (``div-*``), which hold only department lists
  (``dept-*``), which hold only team lists (``team-*``), which hold people. One chain is five lists
  deep: allstaff > div-engineering > dept-platform > team-platform-core > squad-platform-oncall;
  three on-call engineers are reachable only through that squad. Carries stale ``metrics``.
- ``leadership@`` and ``managers@``: each contains the other (a cycle); ``town-hall@`` holds
  allstaff, leadership and the ``feedback@`` public folder.
- ``project-phoenix@``: people also in their teams, two whole team lists, two people who are also
  in one of those teams (duplicates within one expansion), and Alex by his proxy address.
- ``partners@`` "External Partners": mail contacts at external domains; stale ``metrics``.
- ``sales-dynamic@``: dynamic list ``{department: Sales}``. It matches the Sales people *and* one
  mail contact (Nancy Davolio, a Northwind reseller whose department is Sales), as Exchange would.
- ``m365-marketing@``: a Microsoft 365 group (the Marketing department and Megan).
- ``feedback@``: a mail-enabled public folder.
- ``announcements-big@``: 300 people, answered with only the first 100 (``truncate``).
- ``ethics@``: a hidden mailbox, member of team-legal-compliance.

Megan's Contacts hold contacts and two contact groups ("Comms Champions", "Newsletter Reviewers");
Alex has his own ("Deal Desk").
"""

from __future__ import annotations

import json
import random
import re
import sys
from typing import Any

DOMAIN = "contoso.com"
ORG_NAME = "Contoso"
DEMO_PASSWORD = "Passw0rd!"
SEED = 20240601

# (address, display name, password, role)
DEMO_USERS: list[tuple[str, str, str, str]] = [
    (
        "megan@contoso.com",
        "Megan Bowen",
        DEMO_PASSWORD,
        "Demo sender: Internal Communications Manager; owns the demo contact groups",
    ),
    (
        "alex@contoso.com",
        "Alex Wilber",
        DEMO_PASSWORD,
        "Second user: Account Executive (Sales); has his own contact group",
    ),
    (
        "adele@contoso.com",
        "Adele Vance",
        DEMO_PASSWORD,
        "Product Marketing Manager; in project-phoenix and m365-marketing",
    ),
    (
        "lee@contoso.com",
        "Lee Gu",
        DEMO_PASSWORD,
        "Staff SRE in Platform Core and the on-call squad (5th level of allstaff)",
    ),
    (
        "isaiah@contoso.com",
        "Isaiah Langer",
        DEMO_PASSWORD,
        "Exchange administrator (IT, Messaging & Collaboration)",
    ),
    ("patti@contoso.com", "Patti Fernandez", DEMO_PASSWORD, "CEO; member of leadership@"),
    (
        "svc-rollcall@contoso.com",
        "Rollcall Service",
        DEMO_PASSWORD,
        "Service account with impersonation rights (can_impersonate); in no list",
    ),
]

FIRST_NAMES: tuple[str, ...] = tuple(
    """
    Aaliyah Adebayo Aiko Alejandro Amara Ananya Andrei Anneke Astrid Beatriz Bjorn Camila
    Chen Chloe Chukwuma Daniel Deepika Diego Dmitri Elena Emeka Emma Farah Fatima Finn Freya
    Gabriel Grace Hana Hassan Ines Ingrid Isabella Jamal Javier Jin Joao Julia Kai Kaito
    Kavya Kwame Lars Leila Liam Lucia Malik Mariana Mateo Mei Mohammed Nadia Naledi Nikolai
    Noah Olivia Omar Oskar Priya Rafael Ravi Rosa Ruth Sakura Samir Siobhan Sofia Tariq
    Thabo Tomas Valentina Wei Yara Yusuf Zara Zoe
    """.split()
)
LAST_NAMES: tuple[str, ...] = tuple(
    (
    "Abara,Andersen,Bakker,Banerjee,Becker,Castillo,Chen,Costa,Dubois,Eriksson,Fernandes,Fisc"
    "her,Garcia,Gupta,Haddad,Hansen,Hernandez,Ito,Jansen,Johansson,Kim,Kowalski,Kumar,Larsen,"
    "Lee,Lopez,Martin,Mensah,Moreau,Mueller,Murphy,Nakamura,Nguyen,Novak,O'Connor,Okafor,Olse"
    "n,Park,Patel,Petrov,Ramirez,Rossi,Sato,Schmidt,Silva,Singh,Sokolov,Tanaka,Torres,Van "
    "Dijk,Wang,Weber,Williams,Wong,Yamamoto,Zhang"
    ).split(",")
)
OFFICES: tuple[str, ...] = (
    "Seattle",
    "Redmond",
    "New York",
    "London",
    "Dublin",
    "Munich",
    "Singapore",
    "Sydney",
    "Toronto",
    "Sao Paulo",
)

_Team = tuple[str, str, int]  # key, name, size
_Department = tuple[str, str, tuple[_Team, ...]]  # key, name, teams
_DIVISIONS: tuple[tuple[str, str, tuple[_Department, ...]], ...] = (  # key, name, departments
    (
        "engineering",
        "Engineering",
        (
            (
                "platform",
                "Platform",
                (
                    ("core", "Platform Core", 16),
                    ("infra", "Infrastructure", 22),
                    ("devtools", "Developer Tools", 14),
                ),
            ),
            (
                "product",
                "Product Engineering",
                (("web", "Web", 26), ("mobile", "Mobile", 18), ("api", "API", 16)),
            ),
            ("data", "Data", (("analytics", "Analytics", 14), ("ml", "Machine Learning", 12))),
            (
                "security",
                "Security",
                (("secops", "Security Operations", 12), ("identity", "Identity", 9)),
            ),
            (
                "quality",
                "Quality",
                (("automation", "Test Automation", 12), ("release", "Release Management", 8)),
            ),
        ),
    ),
    (
        "sales-marketing",
        "Sales & Marketing",
        (
            (
                "sales",
                "Sales",
                (
                    ("enterprise", "Enterprise Sales", 22),
                    ("midmarket", "Mid-Market Sales", 20),
                    ("inside", "Inside Sales", 18),
                    ("ops", "Sales Operations", 9),
                ),
            ),
            (
                "marketing",
                "Marketing",
                (
                    ("brand", "Brand", 12),
                    ("digital", "Digital Marketing", 15),
                    ("events", "Events", 8),
                    ("product", "Product Marketing", 10),
                ),
            ),
            (
                "success",
                "Customer Success",
                (
                    ("support", "Customer Support", 30),
                    ("onboarding", "Onboarding", 12),
                    ("renewals", "Renewals", 10),
                ),
            ),
        ),
    ),
    (
        "operations",
        "Operations",
        (
            (
                "finance",
                "Finance",
                (
                    ("accounting", "Accounting", 14),
                    ("fpa", "FP&A", 9),
                    ("procurement", "Procurement", 7),
                ),
            ),
            (
                "hr",
                "Human Resources",
                (
                    ("partners", "People Partners", 9),
                    ("talent", "Talent Acquisition", 12),
                    ("learning", "Learning & Development", 6),
                ),
            ),
            (
                "it",
                "IT",
                (
                    ("servicedesk", "Service Desk", 14),
                    ("messaging", "Messaging & Collaboration", 7),
                    ("endpoint", "Endpoint Management", 8),
                ),
            ),
            (
                "legal",
                "Legal",
                (("commercial", "Commercial Legal", 6), ("compliance", "Compliance", 6)),
            ),
            (
                "facilities",
                "Facilities",
                (("workplace", "Workplace", 10), ("physical", "Physical Security", 6)),
            ),
        ),
    ),
    (
        "corporate",
        "Corporate",
        (
            (
                "exec",
                "Executive Office",
                (("team", "Executive Team", 7), ("assistants", "Executive Assistants", 5)),
            ),
            (
                "comms",
                "Communications",
                (
                    ("internal", "Internal Communications", 7),
                    ("external", "External Communications", 6),
                ),
            ),
            ("strategy", "Strategy", (("planning", "Strategy & Planning", 8),)),
        ),
    ),
)

_TITLES: dict[str, tuple[str, ...]] = {
    "platform": ("Software Engineer", "Senior Software Engineer", "Site Reliability Engineer"),
    "product": ("Software Engineer", "Senior Software Engineer", "Product Designer"),
    "data": ("Data Analyst", "Data Scientist", "Data Engineer"),
    "security": ("Security Analyst", "Security Engineer"),
    "quality": ("QA Engineer", "Release Engineer", "Senior QA Engineer"),
    "sales": ("Account Executive", "Sales Development Representative", "Sales Analyst"),
    "marketing": ("Marketing Specialist", "Content Strategist", "Campaign Manager"),
    "success": ("Support Engineer", "Customer Success Manager", "Support Specialist"),
    "finance": ("Accountant", "Financial Analyst", "Buyer"),
    "hr": ("HR Business Partner", "Recruiter", "Learning Specialist"),
    "it": ("Service Desk Analyst", "Systems Administrator", "Endpoint Engineer"),
    "legal": ("Counsel", "Paralegal", "Compliance Analyst"),
    "facilities": ("Workplace Coordinator", "Security Officer"),
    "exec": ("Executive Assistant",),
    "comms": ("Communications Specialist", "Writer", "Editor"),
    "strategy": ("Strategy Analyst", "Business Planner"),
}
_EXEC_TITLES = (
    "Chief Executive Officer",
    "Chief Operating Officer",
    "VP Engineering",
    "VP Sales & Marketing",
    "VP Operations",
    "Chief Financial Officer",
    "General Counsel",
)

# Named people: team list key (dept-team), slot in the team, title, proxies.
_NAMED: dict[str, tuple[str, str, int, str, tuple[str, ...]]] = {
    "megan@contoso.com": (
        "Megan Bowen",
        "comms-internal",
        0,
        "Internal Communications Manager",
        ("megan.bowen@contoso.com", "megan@contoso.onmicrosoft.com"),
    ),
    "alex@contoso.com": (
        "Alex Wilber",
        "sales-enterprise",
        3,
        "Account Executive",
        ("alex.wilber@contoso.com", "awilber@contoso.com"),
    ),
    "adele@contoso.com": (
        "Adele Vance",
        "marketing-product",
        0,
        "Product Marketing Manager",
        ("adele.vance@contoso.com",),
    ),
    "lee@contoso.com": (
        "Lee Gu",
        "platform-core",
        1,
        "Staff Site Reliability Engineer",
        ("lee.gu@contoso.com",),
    ),
    "isaiah@contoso.com": (
        "Isaiah Langer",
        "it-messaging",
        1,
        "Exchange Administrator",
        ("isaiah.langer@contoso.com",),
    ),
    "patti@contoso.com": (
        "Patti Fernandez",
        "exec-team",
        0,
        "Chief Executive Officer",
        ("patti.fernandez@contoso.com",),
    ),
}

# Mail contacts in the directory: (name, address, company, department or "").
_PARTNERS: tuple[tuple[str, str, str, str], ...] = (
    ("Kim Abercrombie", "kim.abercrombie@fabrikam.com", "Fabrikam", ""),
    ("Jon Morris", "jon.morris@fabrikam.com", "Fabrikam", ""),
    ("Ana Trujillo", "ana.trujillo@fabrikam.com", "Fabrikam", ""),
    ("Nancy Davolio", "nancy.davolio@northwind.example", "Northwind Traders", "Sales"),
    ("Andrew Fuller", "andrew.fuller@northwind.example", "Northwind Traders", ""),
    ("Janet Leverling", "janet.leverling@northwind.example", "Northwind Traders", ""),
    ("Terry Adams", "terry.adams@adatum.example", "A. Datum", ""),
    ("Pilar Ackerman", "pilar.ackerman@adatum.example", "A. Datum", ""),
    ("Mark Hanson", "mark.hanson@tailspintoys.example", "Tailspin Toys", ""),
    ("Sara Davis", "sara.davis@tailspintoys.example", "Tailspin Toys", ""),
    ("Ben Miller", "ben.miller@litwareinc.example", "Litware", ""),
    ("Tanya Ray", "tanya.ray@woodgrovebank.example", "Woodgrove Bank", ""),
    ("Luis Bonifaz", "luis.bonifaz@woodgrovebank.example", "Woodgrove Bank", ""),
    ("Hugo Garcia", "hugo.garcia@wideworldimporters.example", "Wide World Importers", ""),
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z-]", "", name.lower())


def _a(local: str) -> str:
    return f"{local}@{DOMAIN}"


class _People:
    """Generated people with unique first.last addresses."""

    def __init__(self, rng: random.Random, taken: set[str]) -> None:
        self.rng = rng
        self.taken = taken
        self.mailboxes: list[dict[str, Any]] = []

    def new(
        self,
        attributes: dict[str, str],
        *,
        named: str | None = None,
        explicit: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        if explicit is not None:
            entry: dict[str, Any] = {"address": explicit[0], "name": explicit[1]}
        elif named is not None:
            name, _team, _slot, _title, proxies = _NAMED[named]
            entry = {"address": named, "name": name, "proxies": list(proxies)}
        else:
            first = self.rng.choice(FIRST_NAMES)
            last = self.rng.choice(LAST_NAMES)
            base = f"{_slug(first)}.{_slug(last)}"
            local, n = base, 1
            while _a(local) in self.taken:
                n += 1
                local = f"{base}{n}"
            entry = {"address": _a(local), "name": f"{first} {last}"}
        for a in (entry["address"], *entry.get("proxies", ())):
            self.taken.add(a)
        entry["password"] = DEMO_PASSWORD
        entry["attributes"] = attributes
        self.mailboxes.append(entry)
        return entry


def demo_document() -> dict[str, Any]:
    """The Contoso demo organisation as a document for ``org.load``."""
    rng = random.Random(SEED)
    taken: set[str] = set(_NAMED)
    for *_, proxies in _NAMED.values():
        taken.update(proxies)
    taken.update(p[1] for p in _PARTNERS)
    taken.add(_a("ethics"))
    people = _People(rng, taken)
    named_at = {(team, slot): addr for addr, (_n, team, slot, _t, _p) in _NAMED.items()}

    lists: list[dict[str, Any]] = []
    team_members: dict[str, list[str]] = {}  # team key -> people addresses
    dept_people: dict[str, list[str]] = {}
    managers: list[str] = []
    execs: list[str] = []
    division_lists: list[str] = []
    for div_key, div_name, depts in _DIVISIONS:
        dept_lists = []
        for dept_key, dept_name, teams in depts:
            team_lists = []
            dept_people[dept_key] = []
            for t_index, (team_key, team_name, size) in enumerate(teams):
                key = f"{dept_key}-{team_key}"
                office = rng.choice(OFFICES)
                members: list[str] = []
                for slot in range(size):
                    named = named_at.get((key, slot))
                    if named is not None:
                        title = _NAMED[named][3]
                    elif key == "exec-team":
                        title = _EXEC_TITLES[slot]
                    elif slot == 0:
                        title = f"Director, {dept_name}" if t_index == 0 else f"{team_name} Manager"
                    else:
                        title = rng.choice(_TITLES[dept_key])
                    attributes = {
                        "department": dept_name,
                        "division": div_name,
                        "office": office if rng.random() < 0.8 else rng.choice(OFFICES),
                        "title": title,
                        "team": team_name,
                    }
                    person = people.new(attributes, named=named)
                    members.append(person["address"])
                    if slot == 0 and key not in ("exec-team",):
                        managers.append(person["address"])
                    if key == "exec-team":
                        execs.append(person["address"])
                team_members[key] = members
                dept_people[dept_key].extend(members)
                team_list: dict[str, Any] = {
                    "address": _a(f"team-{key}"),
                    "name": team_name if team_name.endswith(" Team") else f"{team_name} Team",
                    "members": list(members),
                }
                if key == "platform-core":
                    squad = _squad(people, rng, members, div_name, dept_name)
                    dept_people[dept_key].extend(a for a in squad["members"] if a not in members)
                    lists.append(squad)
                    team_list["members"].append(squad["address"])
                if key == "legal-compliance":
                    ethics = people.new(
                        {
                            "department": dept_name,
                            "division": div_name,
                            "office": "Seattle",
                            "title": "Shared mailbox",
                            "team": team_name,
                        },
                        explicit=(_a("ethics"), "Ethics & Compliance Hotline"),
                    )
                    ethics["hidden"] = True
                    team_list["members"].append(ethics["address"])
                lists.append(team_list)
                team_lists.append(team_list["address"])
            dept_list = _a(f"dept-{dept_key}")
            lists.append(
                {"address": dept_list, "name": f"{dept_name} Department", "members": team_lists}
            )
            dept_lists.append(dept_list)
        div_list = _a(f"div-{div_key}")
        lists.append({"address": div_list, "name": f"{div_name} Division", "members": dept_lists})
        division_lists.append(div_list)

    lists.append(
        {
            "address": _a("allstaff"),
            "name": "All Staff",
            "members": division_lists,
            "metrics": {"total": 471, "external": 0},
        }
    )
    lists.append(
        {
            "address": _a("leadership"),
            "name": "Leadership Team",
            "members": [*execs, _a("managers")],
        }
    )
    lists.append(
        {
            "address": _a("managers"),
            "name": "All Managers",
            "members": [*managers, _a("leadership")],
        }
    )
    lists.append(
        {
            "address": _a("town-hall"),
            "name": "Town Hall",
            "members": [_a("allstaff"), _a("leadership"), _a("feedback")],
        }
    )
    web, mkt = team_members["product-web"], team_members["marketing-product"]
    mobile = team_members["product-mobile"]
    lists.append(
        {
            "address": _a("project-phoenix"),
            "name": "Project Phoenix",
            "members": [
                *web[2:8],
                *mkt[1:4],
                "adele@contoso.com",
                "lee@contoso.com",
                "alex.wilber@contoso.com",  # a proxy address: stored as alex@
                _a("team-product-mobile"),
                _a("team-data-ml"),
                mobile[4],
                mobile[9],
            ],
        }
    )
    lists.append(
        {
            "address": _a("partners"),
            "name": "External Partners",
            "members": [p[1] for p in _PARTNERS],
            "metrics": {"total": 18, "external": 18},
        }
    )
    big = [
        a
        for d in (
            "platform",
            "product",
            "data",
            "security",
            "quality",
            "sales",
            "marketing",
            "success",
        )
        for a in dept_people[d]
    ][:300]
    lists.append(
        {
            "address": _a("announcements-big"),
            "name": "Announcements (large)",
            "members": big,
            "truncate": 100,
        }
    )

    contacts = []
    for name, address, company, department in _PARTNERS:
        local, dom = address.split("@")
        attributes = {"company": company}
        if department:
            attributes["department"] = department
        contacts.append(
            {
                "address": address,
                "name": name,
                "attributes": attributes,
                # Explicit: the default legacy DN uses only the local part, which could clash.
                "legacy_dn": f"/o={ORG_NAME}/ou=External (FYDIBOHF25SPDLT)/cn=Recipients/"
                f"cn={local}.{dom.split('.')[0]}",
            }
        )

    comms = team_members["comms-internal"]
    mailboxes = people.mailboxes
    by_address = {m["address"]: m for m in mailboxes}
    megan, alex = by_address["megan@contoso.com"], by_address["alex@contoso.com"]
    megan["contacts"] = [
        {"id": "c-alex", "name": "Alex Wilber", "address": "alex@contoso.com"},
        {"id": "c-lee", "name": "Lee Gu", "address": "lee.gu@contoso.com"},  # a proxy
        {"id": "c-kim", "name": "Kim Abercrombie", "address": "kim.abercrombie@fabrikam.com"},
        {"id": "c-ray", "name": "Ray Tanaka", "address": "ray.tanaka@northwind.example"},
        {"id": "c-sam", "name": "Sam Rivera", "address": "sam.rivera@outlook.example"},
        {"id": "c-comms", "name": by_address[comms[1]]["name"], "address": comms[1]},
    ]
    megan["contact_groups"] = [
        {
            "id": "g-champions",
            "name": "Comms Champions",
            "members": [
                {"address": comms[2], "name": by_address[comms[2]]["name"]},
                {"address": comms[3]},
                {"address": "adele@contoso.com"},
                {"address": web[0]},
                {"contact": "c-alex"},
                {"contact": "c-kim"},
                {"contact": "c-ray"},
                {"address": "jo.nakamura@gmail.example", "name": "Jo Nakamura"},  # one-off
                {"address": "project-phoenix@contoso.com"},  # a public DL
                {"group": "g-reviewers"},  # a nested contact group
                {
                    "address": "lena.fischer@fabrikam.com",
                    "name": "Lena Fischer",
                    "status": "Demoted",
                },  # its contact was deleted
                {"name": "Marketing Intern (old)", "status": "Unrecognized"},
            ],
        },
        {
            "id": "g-reviewers",
            "name": "Newsletter Reviewers",
            "members": [
                {"contact": "c-comms"},
                {"contact": "c-lee"},
                {"contact": "c-sam"},
                {"address": "alex@contoso.com"},
            ],
        },
    ]
    enterprise = team_members["sales-enterprise"]
    alex["contacts"] = [
        {"id": "c-megan", "name": "Megan Bowen", "address": "megan@contoso.com"},
        {"id": "c-nancy", "name": "Nancy Davolio", "address": "nancy.davolio@northwind.example"},
    ]
    alex["contact_groups"] = [
        {
            "id": "g-dealdesk",
            "name": "Deal Desk",
            "members": [
                {"address": enterprise[0]},
                {"address": enterprise[5]},
                {"address": team_members["sales-ops"][1]},
                {"contact": "c-megan"},
                {"contact": "c-nancy"},
            ],
        },
    ]
    mailboxes.append(
        {
            "address": "svc-rollcall@contoso.com",
            "name": "Rollcall Service",
            "password": DEMO_PASSWORD,
            "can_impersonate": True,
            "attributes": {
                "department": "IT",
                "division": "Operations",
                "office": "Seattle",
                "title": "Service Account",
            },
        }
    )

    return {
        "name": ORG_NAME,
        "domain": DOMAIN,
        "server": {"build": "15.1.2507.6", "version": "Exchange2016"},
        "faults": {},
        "mailboxes": mailboxes,
        "contacts": contacts,
        "public_folders": [{"address": _a("feedback"), "name": "Feedback"}],
        "lists": lists,
        "dynamic_lists": [
            {
                "address": _a("sales-dynamic"),
                "name": "Sales (dynamic)",
                "filter": {"department": "Sales"},
            }
        ],
        "groups": [
            {
                "address": _a("m365-marketing"),
                "name": "Marketing (Microsoft 365)",
                "members": [*dept_people["marketing"], "megan@contoso.com"],
            }
        ],
    }


def _squad(
    people: _People, rng: random.Random, core: list[str], division: str, department: str
) -> dict[str, Any]:
    """The on-call squad: four of Platform Core (Lee among them) and three reachable only here."""
    only_here = [
        people.new(
            {
                "department": department,
                "division": division,
                "office": rng.choice(OFFICES),
                "title": "Site Reliability Engineer",
                "team": "Platform On-call",
            }
        )["address"]
        for _ in range(3)
    ]
    return {
        "address": _a("squad-platform-oncall"),
        "name": "Platform On-call Squad",
        "members": [core[1], core[4], core[7], core[10], *only_here],
    }


if __name__ == "__main__":
    json.dump(demo_document(), sys.stdout, indent=1)
    sys.stdout.write("\n")
