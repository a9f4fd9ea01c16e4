"""The organisation the simulator serves: a typed model, loaded from a YAML or JSON document.

The document format is described in README.md ("EWS simulator: organisation file"). Loading
validates every reference and names the first problem it finds: an organisation that loads is
one the server can answer for without surprises.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class OrgError(ValueError):
    """The organisation document is malformed; the message names the place and the problem."""


# Kinds of directory object, named as EWS's MailboxType names them.
MAILBOX = "Mailbox"
CONTACT = "Contact"
PUBLIC_DL = "PublicDL"
PUBLIC_FOLDER = "PublicFolder"
GROUP_MAILBOX = "GroupMailbox"

MEMBER_STATUSES = ("Normal", "Demoted", "Unrecognized")
# Keys only Microsoft Graph's view of the organisation uses (the Graph simulator); EWS ignores them.
VISIBILITIES = ("Public", "Private", "HiddenMembership")
ENTRA_MEMBER_TYPES = ("device", "user")


@dataclass(frozen=True, slots=True)
class EntraMember:
    """A list member only Entra ID knows (a device, a user without mail): Graph shows it, EWS
    never does."""

    name: str
    type: str  # "device" or "user"


@dataclass(slots=True)
class DirectoryObject:
    """Anything with an address in the directory: mailbox, mail contact, list, group, folder."""

    address: str
    name: str
    kind: str
    legacy_dn: str
    proxies: tuple[str, ...] = ()
    hidden: bool = False
    attributes: dict[str, str] = field(default_factory=dict)
    # Lists: member addresses (public DLs, groups) or a filter (dynamic DLs).
    members: tuple[str, ...] = ()
    dynamic_filter: dict[str, str] | None = None
    truncate: int | None = None  # answer ExpandDL with only the first N members
    metrics: tuple[int, int] | None = None  # stale "group metrics": (total, external)
    metrics_pending: bool = False  # group metrics not computed yet: MailTips says "pending"
    # Graph only (ignored by EWS): a mail-enabled security group, its visibility, members
    # without mail that only Entra ID has, and a mail contact that Entra ID holds as a guest.
    security: bool = False
    visibility: str | None = None
    entra_members: tuple[EntraMember, ...] = ()
    guest: bool = False

    @property
    def is_list(self) -> bool:
        return self.kind in (PUBLIC_DL, GROUP_MAILBOX)


@dataclass(slots=True)
class Contact:
    """A contact in a mailbox's Contacts folder."""

    item_id: str
    name: str
    address: str


@dataclass(slots=True)
class GroupMember:
    """A contact-group member as stored: what it points at and the address kept with it."""

    name: str
    address: str | None
    status: str = "Normal"
    contact_id: str | None = None  # a Contacts item
    group_id: str | None = None  # a nested contact group (private DL)
    routing: str = "SMTP"  # "EX": `address` is the X.500 legacy DN Outlook stored


@dataclass(slots=True)
class ContactGroup:
    item_id: str
    name: str
    members: list[GroupMember]


@dataclass(slots=True)
class Mailbox:
    """A mailbox that can sign in, with its own Contacts folder."""

    obj: DirectoryObject
    password: str
    can_impersonate: bool = False
    contacts: dict[str, Contact] = field(default_factory=dict)
    groups: dict[str, ContactGroup] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.obj.address


@dataclass(slots=True)
class Faults:
    """Injected misbehaviour; all off by default."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    max_concurrent: int | None = None  # per account; excess answered ErrorServerBusy
    busy_every: int | None = None  # every Nth request answered ErrorServerBusy
    back_off_ms: int = 1000
    http503_every: int | None = None
    retry_after_s: int = 1
    drop_every: int | None = None  # every Nth request: connection closed without an answer


@dataclass(slots=True)
class Organisation:
    name: str
    domain: str
    build: tuple[int, int, int, int]
    version_name: str | None
    objects: dict[str, DirectoryObject]  # primary address (lower-case) -> object
    mailboxes: dict[str, Mailbox]  # primary address (lower-case) -> mailbox
    faults: Faults = field(default_factory=Faults)
    by_address: dict[str, DirectoryObject] = field(default_factory=dict)  # any proxy
    by_legacy_dn: dict[str, DirectoryObject] = field(default_factory=dict)

    def find(self, address: str) -> DirectoryObject | None:
        """The object with this primary or proxy address, case-insensitively."""
        return self.by_address.get(address.lower())

    def find_dn(self, legacy_dn: str) -> DirectoryObject | None:
        """The object with this legacy Exchange DN (X.500), case-insensitively."""
        return self.by_legacy_dn.get(legacy_dn.lower())

    def dynamic_members(self, dl: DirectoryObject) -> list[DirectoryObject]:
        """Recipients whose attributes match every key of a dynamic list's filter."""
        assert dl.dynamic_filter is not None
        wanted = {k: v.lower() for k, v in dl.dynamic_filter.items()}
        return [
            o
            for o in self.objects.values()
            if o.kind in (MAILBOX, CONTACT)
            and all(o.attributes.get(k, "").lower() == v for k, v in wanted.items())
        ]

    def direct_members(self, dl: DirectoryObject) -> list[DirectoryObject]:
        """A list's members, one level, in stored order; hidden recipients left out, as Exchange."""
        if dl.dynamic_filter is not None:
            members = self.dynamic_members(dl)
        else:
            members = [self.by_address[a] for a in dl.members]
        return [m for m in members if not m.hidden]


def item_id(mailbox: str, local_id: str) -> str:
    """An opaque, stable ItemId for a Contacts item of a mailbox (base64, like Exchange's)."""
    return base64.b64encode(f"RC:{mailbox.lower()}:{local_id}".encode()).decode()


def parse_item_id(value: str) -> tuple[str, str] | None:
    """(mailbox, local id) behind an ItemId this simulator made, or None for anything else."""
    try:
        raw = base64.b64decode(value, validate=True).decode()
    except ValueError:
        return None
    parts = raw.split(":", 2)
    if len(parts) != 3 or parts[0] != "RC":
        return None
    return parts[1], parts[2]


def load(source: str | Path | Mapping[str, Any]) -> Organisation:
    """Load an organisation from a .yaml/.yml/.json file or an already parsed mapping."""
    if isinstance(source, Mapping):
        return _build(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise OrgError(f"{path}: cannot read the organisation file: {e.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(text)
        else:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except (ValueError, yaml.YAMLError) as e:
        raise OrgError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {e}"
        ) from None
    if not isinstance(doc, Mapping):
        raise OrgError(f"{path}: the document must be a mapping with 'mailboxes', 'lists', ...")
    return _build(doc)


def _build(doc: Mapping[str, Any]) -> Organisation:
    domain = str(doc.get("domain", "contoso.com"))
    org_name = str(doc.get("name", domain))
    build, version_name = _server(doc.get("server", {}))
    org = Organisation(
        name=org_name,
        domain=domain,
        build=build,
        version_name=version_name,
        objects={},
        mailboxes={},
        faults=_faults(doc.get("faults", {}), "faults"),
    )
    b = _Builder(org)
    for i, m in enumerate(_seq(doc, "mailboxes")):
        b.mailbox(m, f"mailboxes[{i}]")
    for i, c in enumerate(_seq(doc, "contacts")):
        b.plain(c, CONTACT, f"contacts[{i}]")
    for i, f in enumerate(_seq(doc, "public_folders")):
        b.plain(f, PUBLIC_FOLDER, f"public_folders[{i}]")
    for i, dl in enumerate(_seq(doc, "lists")):
        b.list_(dl, PUBLIC_DL, f"lists[{i}]")
    for i, dl in enumerate(_seq(doc, "dynamic_lists")):
        b.list_(dl, PUBLIC_DL, f"dynamic_lists[{i}]")
    for i, g in enumerate(_seq(doc, "groups")):
        b.list_(g, GROUP_MAILBOX, f"groups[{i}]")
    b.check_references()
    return org


def _seq(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise OrgError(f"'{key}' must be a list of mappings")
    return value


def parse_build(text: str, where: str) -> tuple[int, int, int, int]:
    """'15.1.2507.6' as four numbers; OrgError naming `where` otherwise."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise OrgError(f"{where}: expected four numbers like 15.1.2507.6, got {text!r}")
    a, b, c, d = (int(p) for p in parts)
    return a, b, c, d


def _server(value: Any) -> tuple[tuple[int, int, int, int], str | None]:
    build_text = str(value.get("build", "15.1.2507.6")) if isinstance(value, Mapping) else ""
    # Exchange 2016 and 2019 answer Version="V2017_07_11"; null in the file leaves it out.
    version = value.get("version", "V2017_07_11") if isinstance(value, Mapping) else "V2017_07_11"
    return parse_build(build_text, "server.build"), (str(version) if version else None)


def _faults(value: Any, where: str) -> Faults:
    if not isinstance(value, Mapping):
        raise OrgError(f"{where}: must be a mapping")
    known = set(Faults.__dataclass_fields__)
    unknown = set(value) - known
    if unknown:
        raise OrgError(f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return Faults(**dict(value))


class _Builder:
    """Accumulates objects, then checks that every reference points at something."""

    def __init__(self, org: Organisation) -> None:
        self.org = org
        self.pending_groups: list[tuple[Mailbox, Mapping[str, Any], str]] = []

    def _obj(self, d: Mapping[str, Any], kind: str, where: str) -> DirectoryObject:
        address = _address(d.get("address"), f"{where}.address")
        alias, domain = address.split("@", 1)
        # Outside the organisation's domain the alias alone could clash (john@ here and there).
        cn = alias if domain.lower() == self.org.domain.lower() else f"{alias}-{domain}"
        obj = DirectoryObject(
            address=address,
            name=str(d.get("name") or alias),
            kind=kind,
            legacy_dn=str(
                d.get("legacy_dn")
                or f"/o={self.org.name}/ou=Exchange Administrative Group/cn=Recipients/cn={cn}"
            ),
            proxies=tuple(_address(p, f"{where}.proxies") for p in d.get("proxies", ()) or ()),
            hidden=bool(d.get("hidden", False)),
            attributes={str(k): str(v) for k, v in (d.get("attributes") or {}).items()},
        )
        for a in (obj.address, *obj.proxies):
            if a.lower() in self.org.by_address:
                raise OrgError(f"{where}: address {a} is already used by another object")
            self.org.by_address[a.lower()] = obj
        if obj.legacy_dn.lower() in self.org.by_legacy_dn:
            raise OrgError(f"{where}: legacy DN {obj.legacy_dn} is already used")
        self.org.by_legacy_dn[obj.legacy_dn.lower()] = obj
        self.org.objects[obj.address.lower()] = obj
        return obj

    def plain(self, d: Mapping[str, Any], kind: str, where: str) -> DirectoryObject:
        obj = self._obj(d, kind, where)
        if kind == CONTACT:
            obj.guest = bool(d.get("guest", False))
        return obj

    def mailbox(self, d: Mapping[str, Any], where: str) -> None:
        obj = self._obj(d, MAILBOX, where)
        mbx = Mailbox(
            obj=obj,
            password=str(d.get("password", "")),
            can_impersonate=bool(d.get("can_impersonate", False)),
        )
        for i, c in enumerate(d.get("contacts") or ()):
            cw = f"{where}.contacts[{i}]"
            local = str(c.get("id") or f"c{i}")
            contact = Contact(
                item_id=item_id(obj.address, local),
                name=str(c.get("name") or c.get("address", "")),
                address=_address(c.get("address"), f"{cw}.address"),
            )
            if local in mbx.contacts:
                raise OrgError(f"{cw}: id {local!r} is used twice in this mailbox")
            mbx.contacts[local] = contact
        for i, g in enumerate(d.get("contact_groups") or ()):
            self.pending_groups.append((mbx, g, f"{where}.contact_groups[{i}]"))
        self.org.mailboxes[obj.address.lower()] = mbx

    def list_(self, d: Mapping[str, Any], kind: str, where: str) -> None:
        obj = self._obj(d, kind, where)
        if "filter" in d:
            flt = d["filter"]
            if not isinstance(flt, Mapping) or not flt:
                raise OrgError(
                    f"{where}.filter: must be a non-empty mapping like {{department: Sales}}"
                )
            obj.dynamic_filter = {str(k): str(v) for k, v in flt.items()}
        members = d.get("members") or []
        if not isinstance(members, list):
            raise OrgError(f"{where}.members: must be a list of addresses")
        obj.members = tuple(_address(m, f"{where}.members") for m in members)
        if d.get("truncate") is not None:
            obj.truncate = int(d["truncate"])
        m = d.get("metrics")
        if m == "pending":
            obj.metrics_pending = True
        elif isinstance(m, Mapping):
            obj.metrics = (int(m.get("total", 0)), int(m.get("external", 0)))
        elif m is not None:
            raise OrgError(f"{where}.metrics: expected {{total: N, external: N}} or 'pending'")
        _graph_keys(obj, d, where)

    def check_references(self) -> None:
        org = self.org
        for obj in org.objects.values():
            primaries = []
            for a in obj.members:
                target = org.by_address.get(a.lower())
                if target is None:
                    raise OrgError(
                        f"list {obj.address}: member {a} is not in the organisation "
                        "(Exchange lists hold directory objects only)"
                    )
                primaries.append(target.address)  # members are objects: keep primary addresses
            obj.members = tuple(primaries)
        for mbx, g, where in self.pending_groups:
            local = str(g.get("id") or where.rsplit("[", 1)[-1].rstrip("]"))
            mbx.groups[local] = ContactGroup(
                item_id=item_id(mbx.address, local), name=str(g.get("name") or local), members=[]
            )
        for mbx, g, where in self.pending_groups:
            local = str(g.get("id") or where.rsplit("[", 1)[-1].rstrip("]"))
            mbx.groups[local].members = [
                self._member(mbx, m, f"{where}.members[{i}]")
                for i, m in enumerate(g.get("members") or ())
            ]

    def _member(self, mbx: Mailbox, m: Mapping[str, Any], where: str) -> GroupMember:
        status = str(m.get("status", "Normal"))
        if status not in MEMBER_STATUSES:
            raise OrgError(f"{where}.status: {status!r} is not one of {MEMBER_STATUSES}")
        if "contact" in m:
            c = mbx.contacts.get(str(m["contact"]))
            if c is None:
                raise OrgError(
                    f"{where}: contact {m['contact']!r} is not in {mbx.address}'s Contacts"
                )
            return GroupMember(c.name, c.address, status, contact_id=str(m["contact"]))
        if "group" in m:
            grp = mbx.groups.get(str(m["group"]))
            if grp is None:
                raise OrgError(
                    f"{where}: contact group {m['group']!r} is not in {mbx.address}'s Contacts"
                )
            return GroupMember(grp.name, None, status, group_id=str(m["group"]))
        if "legacy_dn" in m:  # Outlook stores directory members by X.500 DN
            dn = str(m["legacy_dn"])
            obj = self.org.find_dn(dn)
            name = str(m.get("name") or (obj.name if obj else dn))
            return GroupMember(name, dn, status, routing="EX")
        address = m.get("address")
        if status == "Unrecognized":
            return GroupMember(str(m.get("name", "")), str(address) if address else None, status)
        address = _address(address, f"{where}.address")
        known = self.org.find(address)
        name = str(m.get("name") or (known.name if known else address))
        return GroupMember(name, address, status)


def _graph_keys(obj: DirectoryObject, d: Mapping[str, Any], where: str) -> None:
    """A list's keys that only Graph's view uses: security, visibility, entra_members."""
    obj.security = bool(d.get("security", False))
    visibility = d.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        raise OrgError(f"{where}.visibility: {visibility!r} is not one of {VISIBILITIES}")
    obj.visibility = visibility
    entries = d.get("entra_members") or []
    if not isinstance(entries, list):
        raise OrgError(f"{where}.entra_members: must be a list like [{{name: Printer 3, "
                       "type: device}]")
    members = []
    for i, e in enumerate(entries):
        kind = e.get("type", "device") if isinstance(e, Mapping) else None
        if kind not in ENTRA_MEMBER_TYPES or not str(e.get("name") or "").strip():
            raise OrgError(f"{where}.entra_members[{i}]: expected {{name: ..., type: device}} "
                           f"(type one of {ENTRA_MEMBER_TYPES})")
        members.append(EntraMember(str(e["name"]).strip(), str(kind)))
    obj.entra_members = tuple(members)


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.count("@") != 1 or not all(value.split("@")):
        raise OrgError(f"{where}: {value!r} is not an SMTP address like name@example.com")
    return value.strip()
