"""The organisation as Entra ID holds it: users, groups, orgContacts and devices with Graph's ids
and property names, and group membership as Graph reports it.

Exchange-only recipients (dynamic lists, mail-enabled public folders) are not Entra objects: they
appear nowhere here, not even as members of the lists that hold them.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ews_simulator.org import (
    CONTACT,
    GROUP_MAILBOX,
    MAILBOX,
    PUBLIC_DL,
    DirectoryObject,
    EntraMember,
    Organisation,
)

USER, GROUP, ORG_CONTACT, DEVICE = "user", "group", "orgContact", "device"
TYPES = (USER, GROUP, ORG_CONTACT, DEVICE)

# Every property each type can be asked for ($select); all are real properties of Microsoft's
# models, so msgraph-sdk reads none of them into `additional_data`.
PROPERTIES: dict[str, tuple[str, ...]] = {
    USER: ("id", "displayName", "mail", "userPrincipalName", "proxyAddresses", "userType",
           "givenName", "surname", "jobTitle", "department", "officeLocation", "companyName",
           "mailNickname", "accountEnabled"),
    GROUP: ("id", "displayName", "mail", "mailEnabled", "securityEnabled", "groupTypes",
            "visibility", "proxyAddresses", "mailNickname", "description"),
    ORG_CONTACT: ("id", "displayName", "mail", "proxyAddresses", "companyName", "department",
                  "jobTitle", "mailNickname", "givenName", "surname"),
    DEVICE: ("id", "displayName", "accountEnabled", "operatingSystem", "deviceId"),
}
# What comes back without $select.
DEFAULTS: dict[str, tuple[str, ...]] = {
    USER: ("id", "displayName", "mail", "userPrincipalName", "proxyAddresses", "userType",
           "jobTitle", "department", "officeLocation"),
    GROUP: ("id", "displayName", "mail", "mailEnabled", "securityEnabled", "groupTypes",
            "visibility", "proxyAddresses"),
    ORG_CONTACT: ("id", "displayName", "mail", "proxyAddresses", "companyName"),
    DEVICE: ("id", "displayName", "accountEnabled"),
}


def graph_id(key: str) -> str:
    """A stable object id: the same organisation file gives the same ids on every run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "graph-sim:" + key.lower()))


@dataclass(slots=True)
class Entity:
    """One Entra object: its Graph type, every property value, and what it came from."""

    id: str
    type: str
    props: dict[str, Any]
    obj: DirectoryObject | None = None  # None for objects only Entra ID has

    def view(self, select: list[str] | None, limited: bool = False,
             annotate: bool = False) -> dict[str, Any]:
        """The object as Graph answers it: selected (or default) properties that its type has;
        `limited` nulls all but id (the caller may not read this type); `annotate` adds
        `@odata.type`, as directoryObject collections carry on every item."""
        names = select if select is not None else DEFAULTS[self.type]
        out: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{self.type}"} if annotate else {}
        for name in names:
            if name in PROPERTIES[self.type]:
                out[name] = self.props.get(name) if not limited or name == "id" else None
        if limited and "id" not in out:
            out["id"] = self.id
        return out


class Directory:
    """Graph's view of an organisation, built once (the organisation does not change)."""

    def __init__(self, org: Organisation) -> None:
        self.org = org
        self.by_id: dict[str, Entity] = {}
        self.by_object: dict[str, Entity] = {}  # primary address (lower) -> entity
        self.by_upn: dict[str, Entity] = {}
        self.users: list[Entity] = []
        self.groups: list[Entity] = []
        self.contacts: list[Entity] = []
        for obj in org.objects.values():
            entity = self._entity(obj)
            if entity is not None:
                self._add(entity)
        for obj in org.objects.values():
            for member in obj.entra_members if obj.is_list else ():
                key = f"entra:{member.type}:{member.name}"
                if graph_id(key) not in self.by_id:
                    self._add(self._entra(member, key))

    def _add(self, entity: Entity) -> None:
        self.by_id[entity.id] = entity
        if entity.obj is not None:
            self.by_object[entity.obj.address.lower()] = entity
        if entity.type == USER:
            self.by_upn[str(entity.props["userPrincipalName"]).lower()] = entity
            self.users.append(entity)
        elif entity.type == GROUP:
            self.groups.append(entity)
        elif entity.type == ORG_CONTACT:
            self.contacts.append(entity)

    def _entity(self, obj: DirectoryObject) -> Entity | None:
        attrs = obj.attributes
        oid = graph_id(obj.address)
        common: dict[str, Any] = {
            "id": oid,
            "displayName": obj.name,
            "mail": obj.address,
            "proxyAddresses": [f"SMTP:{obj.address}", *(f"smtp:{p}" for p in obj.proxies)],
            "mailNickname": obj.address.split("@")[0],
        }
        if obj.kind == MAILBOX or (obj.kind == CONTACT and obj.guest):
            first, _, last = obj.name.partition(" ")
            guest = obj.kind == CONTACT
            upn = (f"{obj.address.replace('@', '_')}#EXT#@{self.org.domain}" if guest
                   else obj.address)
            props = common | {
                "userPrincipalName": upn, "userType": "Guest" if guest else "Member",
                "givenName": first or None, "surname": last or None,
                "jobTitle": attrs.get("title"), "department": attrs.get("department"),
                "officeLocation": attrs.get("office"), "companyName": attrs.get("company"),
                "accountEnabled": True,
            }
            return Entity(oid, USER, props, obj)
        if obj.kind == CONTACT:
            first, _, last = obj.name.partition(" ")
            props = common | {
                "companyName": attrs.get("company"), "department": attrs.get("department"),
                "jobTitle": attrs.get("title"), "givenName": first or None,
                "surname": last or None,
            }
            return Entity(oid, ORG_CONTACT, props, obj)
        if obj.kind == GROUP_MAILBOX or (obj.kind == PUBLIC_DL and obj.dynamic_filter is None):
            unified = obj.kind == GROUP_MAILBOX
            props = common | {
                "mailEnabled": True, "securityEnabled": obj.security,
                "groupTypes": ["Unified"] if unified else [],
                "visibility": obj.visibility or ("Public" if unified else None),
                "description": None,
            }
            return Entity(oid, GROUP, props, obj)
        return None  # dynamic lists and public folders live in Exchange only

    def _entra(self, member: EntraMember, key: str) -> Entity:
        oid = graph_id(key)
        if member.type == DEVICE:
            props: dict[str, Any] = {"id": oid, "displayName": member.name,
                                     "accountEnabled": True, "operatingSystem": None,
                                     "deviceId": oid}
            return Entity(oid, DEVICE, props)
        slug = re.sub(r"[^a-z0-9]+", ".", member.name.lower()).strip(".") or oid
        props = {"id": oid, "displayName": member.name, "mail": None,
                 "userPrincipalName": f"{slug}@{self.org.domain}", "proxyAddresses": [],
                 "userType": "Member", "mailNickname": slug, "accountEnabled": True}
        return Entity(oid, USER, props)

    # -- lookups ------------------------------------------------------------------------------

    def user(self, key: str) -> Entity | None:
        """A user by id or userPrincipalName (proxy addresses are not UPNs)."""
        found = self.by_id.get(key.lower()) or self.by_upn.get(key.lower())
        return found if found is not None and found.type == USER else None

    def get(self, key: str, type_: str) -> Entity | None:
        found = self.by_id.get(key.lower())
        return found if found is not None and found.type == type_ else None

    def for_address(self, address: str) -> Entity | None:
        """The Entra object behind a primary or proxy address, if Entra has one."""
        obj = self.org.find(address)
        return None if obj is None else self.by_object.get(obj.address.lower())

    def members(self, group: Entity) -> list[Entity]:
        """Direct members in stored order; GAL-hidden ones too, Exchange-only ones left out."""
        obj = group.obj
        assert obj is not None
        out = [self.by_object[a.lower()] for a in obj.members if a.lower() in self.by_object]
        out += [self.by_id[graph_id(f"entra:{m.type}:{m.name}")] for m in obj.entra_members]
        return out

    def transitive(self, group: Entity, descend: Callable[[Entity], bool]) -> list[Entity]:
        """Every object reachable through nested groups once (the groups included, loops cut),
        breadth first; a group `descend` refuses is listed but not entered."""
        seen = {group.id}
        out: list[Entity] = []
        queue = deque([group])
        while queue:
            current = queue.popleft()
            for m in self.members(current):
                if m.id in seen:
                    continue
                seen.add(m.id)
                out.append(m)
                if m.type == GROUP and descend(m):
                    queue.append(m)
        return out
