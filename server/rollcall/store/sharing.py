"""Owners and shares in the database: access.py's rule applied to rows and to queries.

`who=None` everywhere means Rollcall itself (a count's own expansion, tests): no check.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from sqlalchemy import Select, and_, delete, false, or_, select
from sqlalchemy.orm import Session

from rollcall.errors import BadRequest, RollcallError
from rollcall.store import views
from rollcall.store.access import (
    GROUP,
    KINDS,
    PERSON,
    ROLES,
    Level,
    Principal,
    Share,
    is_mailbox,
    level,
    require,
)
from rollcall.store.models import (
    AuditEvent,
    AuditEventList,
    Contact,
    ListShare,
    Membership,
    RollcallList,
)
from rollcall.store.queries import audit_info, find_list, list_info, record, utcnow
from rollcall.store.records import AuditInfo, ListInfo, ListMembers, ShareInfo
from rollcall.store.transaction import Transactor
from rollcall.store.validate import clean_text, normalise_email

MAX_GROUP_ID = 320


class ShareNotFound(RollcallError):
    code = "share_not_found"
    status = 404


def shares_of(s: Session, list_id: int) -> list[Share]:
    rows = s.scalars(select(ListShare).where(ListShare.list_id == list_id))
    return [Share(r.principal, r.kind, r.role) for r in rows]


def level_on(s: Session, lst: RollcallList, who: Principal | None) -> Level:
    """`who`'s level on one list (ADMIN for Rollcall itself)."""
    if who is None or who.admin:
        return Level.ADMIN
    return level(lst.owner, shares_of(s, lst.id), who)


def check(s: Session, lst: RollcallList, who: Principal | None, need: Level) -> None:
    """NotYourList unless `who` reaches `need` on the list."""
    if who is not None and not who.admin:
        require(lst.name, lst.owner, shares_of(s, lst.id), who, need)


def _shared_with(who: Principal, roles: tuple[str, ...]) -> Any:
    person = (and_(ListShare.kind == PERSON, ListShare.principal == who.mailbox)
              if who.mailbox else false())
    group = (and_(ListShare.kind == GROUP, ListShare.principal.in_(sorted(who.groups)))
             if who.groups else false())
    return select(ListShare.list_id).where(ListShare.role.in_(roles), or_(person, group))


def list_ids(who: Principal | None, need: Level = Level.VIEWER) -> Select[Any] | None:
    """A query for the ids of the lists `who` reaches `need` on; None when that is every list."""
    if who is None or who.admin:
        return None
    mine = (RollcallList.owner == who.mailbox) if who.mailbox and "@" in who.mailbox else false()
    if need >= Level.OWNER:
        return select(RollcallList.id).where(mine)
    roles = ("editor",) if need >= Level.EDITOR else ROLES
    return select(RollcallList.id).where(or_(mine, RollcallList.id.in_(_shared_with(who, roles))))


def visible_names(s: Session, who: Principal | None) -> frozenset[str] | None:
    """Names of the lists `who` may see; None when that is every list."""
    ids = list_ids(who)
    if ids is None:
        return None
    query = select(RollcallList.name).where(RollcallList.id.in_(ids))
    return frozenset(s.scalars(query))


def principal_of(kind: str, principal: str) -> str:
    """A share's principal in its stored form; raises BadRequest."""
    if kind not in KINDS:
        raise BadRequest("a share is with a 'person' or a 'group'", code="bad_share")
    if kind == PERSON:
        return normalise_email(principal)[1]
    cleaned = clean_text(principal or "", "a group id", MAX_GROUP_ID).lower()
    if not cleaned:
        raise BadRequest("a group share needs the group's id", code="bad_share")
    return cleaned


def share_info(row: ListShare) -> ShareInfo:
    return ShareInfo(row.principal, cast(Any, row.kind), cast(Any, row.role), row.added_by,
                     row.added_at)


def all_shares(s: Session, lst: RollcallList) -> list[ShareInfo]:
    query = (select(ListShare).where(ListShare.list_id == lst.id)
             .order_by(ListShare.kind.desc(), ListShare.principal))
    return [share_info(row) for row in s.scalars(query)]


def share(s: Session, lst: RollcallList, kind: str, principal: str, role: str,
          actor: str) -> ShareInfo:
    """Share (or re-share with another role); idempotent, audited when it changes anything."""
    if role not in ROLES:
        raise BadRequest("a share's role is 'viewer' or 'editor'", code="bad_share")
    key = principal_of(kind, principal)
    if kind == PERSON and key == lst.owner:
        raise BadRequest(f"{key} owns {lst.name!r} already", code="bad_share")
    row = s.scalars(select(ListShare).where(ListShare.list_id == lst.id, ListShare.kind == kind,
                                            ListShare.principal == key)
                    .with_for_update()).first()
    if row is not None and row.role == role:
        return share_info(row)
    at = utcnow()
    if row is None:
        row = ListShare(list_id=lst.id, principal=key, kind=kind, role=role, added_by=actor,
                        added_at=at)
        s.add(row)
    else:
        row.role, row.added_by, row.added_at = role, actor, at
    s.flush()
    record(s, actor, "list.shared", at, [lst], detail={"kind": kind, "principal": key,
                                                       "role": role})
    return share_info(row)


def unshare(s: Session, lst: RollcallList, kind: str, principal: str, actor: str) -> AuditInfo:
    """Stop sharing; raises ShareNotFound when there was no such share."""
    key = principal_of(kind, principal)
    gone = s.execute(delete(ListShare).where(ListShare.list_id == lst.id,
                                             ListShare.kind == kind, ListShare.principal == key))
    if not getattr(gone, "rowcount", 0):
        raise ShareNotFound(f"{lst.name!r} is not shared with the {kind} {key}")
    event = record(s, actor, "list.unshared", utcnow(), [lst],
                   detail={"kind": kind, "principal": key})
    return audit_info(event)


def hand_over(s: Session, lst: RollcallList, owner: str, actor: str) -> ListInfo:
    """Make `owner` (a mailbox) the list's owner; the shares stay as they are."""
    _, key = normalise_email(owner)
    if key != lst.owner:
        previous, lst.owner = lst.owner, key
        record(s, actor, "list.owner_changed", utcnow(), [lst],
               detail={"from": previous, "to": key})
        s.flush()
    return list_info(lst)


def nested_reach(s: Session, lst: RollcallList, who: Principal | None) -> frozenset[str]:
    """Names of the lists nested in `lst` that a count of it by `who` expands: those `who` may
    see, and those the owner of `lst` may see as a person (the owner or a share naming them).
    The owner chose to include them; once they may no longer see one, nobody reaches it through
    their list, and a group share does not carry it (a count knows only its own caller's
    groups)."""
    query = (select(RollcallList).join(Membership, Membership.child_list_id == RollcallList.id)
             .where(Membership.list_id == lst.id, Membership.removed_at.is_(None)))
    children = list(s.scalars(query))
    if who is None or who.admin:
        return frozenset(c.name for c in children)
    owner = Principal.person(lst.owner) if is_mailbox(lst.owner) else None
    reach = set()
    for child in children:
        shares = shares_of(s, child.id)
        if level(child.owner, shares, who) >= Level.VIEWER or (
                owner is not None and level(child.owner, shares, owner) >= Level.VIEWER):
            reach.add(child.name)
    return frozenset(reach)


class SharedLists:
    """ListStore's owner, share and audit methods; each is one transaction."""

    _tx: Transactor

    def require(self, list_name: str, who: Principal | None, need: Level) -> None:
        """Nothing, when `who` reaches `need` on the list; raises ListNotFound, NotYourList."""
        self._tx.read(lambda s: check(s, find_list(s, list_name), who, need))

    def shares(self, list_name: str, who: Principal | None = None) -> list[ShareInfo]:
        """Whom the list is shared with (its owner and administrators may ask)."""

        def work(s: Session) -> list[ShareInfo]:
            lst = find_list(s, list_name)
            check(s, lst, who, Level.OWNER)
            return all_shares(s, lst)

        return self._tx.read(work)

    def share(self, list_name: str, kind: str, principal: str, role: str, actor: str,
              who: Principal | None = None) -> ShareInfo:
        """Share with a person or a group as viewer or editor; NotYourList unless the owner."""

        def work(s: Session) -> ShareInfo:
            lst = find_list(s, list_name)
            check(s, lst, who, Level.OWNER)
            return share(s, lst, kind, principal, role, actor)

        return self._tx.write(work)

    def unshare(self, list_name: str, kind: str, principal: str, actor: str,
                who: Principal | None = None) -> AuditInfo:
        """Stop sharing with a person or group; raises ShareNotFound, NotYourList."""

        def work(s: Session) -> AuditInfo:
            lst = find_list(s, list_name)
            check(s, lst, who, Level.OWNER)
            return unshare(s, lst, kind, principal, actor)

        return self._tx.write(work)

    def hand_over(self, list_name: str, owner: str, actor: str,
                  who: Principal | None = None) -> ListInfo:
        """Give the list a new owner (a mailbox); the owner or an administrator may."""

        def work(s: Session) -> ListInfo:
            lst = find_list(s, list_name)
            check(s, lst, who, Level.OWNER)
            return hand_over(s, lst, owner, actor)

        return self._tx.write(work)

    def audit(
        self, email: str | None = None, list_name: str | None = None, limit: int = 200,
        who: Principal | None = None,
    ) -> list[AuditInfo]:
        """Audit events, newest first, for a contact and/or a list: for `who`, only events about
        lists they may see, naming only those; raises ListNotFound, NotYourList."""
        key = normalise_email(email)[1] if email is not None else None

        def work(s: Session) -> list[AuditInfo]:
            query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(limit, 0))
            if key is not None:
                ids = select(Contact.id).where(Contact.email_key == key).scalar_subquery()
                query = query.where(AuditEvent.contact_id == ids)
            if list_name is not None:
                lst = find_list(s, list_name)
                check(s, lst, who, Level.VIEWER)
                query = query.join(AuditEventList, AuditEventList.event_id == AuditEvent.id)
                query = query.where(AuditEventList.list_id == lst.id)
            visible = list_ids(who)
            if visible is not None:
                about = select(AuditEventList.event_id).where(AuditEventList.list_id.in_(visible))
                query = query.where(AuditEvent.id.in_(about))
            names = visible_names(s, who)
            return [naming(audit_info(event), names) for event in s.scalars(query)]

        return self._tx.read(work)

    def expansion(self, list_name: str, who: Principal | None
                  ) -> tuple[ListMembers, frozenset[str]]:
        """A list as a count by `who` expands it, whoever may see it (the count decided that):
        its members, removals naming only lists `who` may see, and the nested lists the count
        may expand in turn (`nested_reach`); raises ListNotFound."""
        def work(s: Session) -> tuple[ListMembers, frozenset[str]]:
            lst = find_list(s, list_name)
            members = views.redact(views.list_members(s, lst), visible_names(s, who))
            return members, nested_reach(s, lst, who)

        return self._tx.read(work)


def naming(info: AuditInfo, visible: frozenset[str] | None) -> AuditInfo:
    """The event naming only the lists in `visible` (None: all)."""
    if visible is None:
        return info
    return replace(info, lists=tuple(n for n in info.lists if n in visible))
