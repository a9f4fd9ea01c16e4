"""OData query options as Graph's directory takes them: $filter, $search, $select, $top, $count
and paging by an absolute @odata.nextLink carrying $skiptoken.

Only the filters Rollcall-like clients send are understood (`proxyAddresses/any(p:p eq '...')`,
`PROP eq '...'`, `startswith(PROP,'...')`, `PROP in ('...', ...)`, joined by one kind of
`and`/`or`); anything else is Graph's 400 Request_UnsupportedQuery, never silently ignored.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .wire import GraphError, Request

MAX_TOP = 999
Predicate = Callable[[dict[str, Any]], bool]

_LITERAL = r"'((?:[^']|'')*)'"
_ANY = re.compile(
    rf"^(\w+)/any\(\s*(\w+)\s*:\s*(?:\2\s+eq\s+{_LITERAL}|startswith\(\s*\2\s*,\s*{_LITERAL}\s*\))"
    r"\s*\)$", re.I)
_EQ = re.compile(rf"^(\w+)\s+eq\s+{_LITERAL}$", re.I)
_STARTS = re.compile(rf"^startswith\(\s*(\w+)\s*,\s*{_LITERAL}\s*\)$", re.I)
_IN = re.compile(r"^(\w+)\s+in\s+\((.*)\)$", re.I)
_SEARCH = re.compile(r'"(\w+):([^"]*)"')
_WORDS = re.compile(r"[^\w]+")


def unsupported(message: str = "Unsupported query.") -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def eventual(request: Request) -> bool:
    """Whether the request asked for an advanced (eventually consistent) query."""
    return request.headers.get("consistencylevel", "").strip().lower() == "eventual"


@dataclass(slots=True)
class Query:
    """The query options of one collection request."""

    select: list[str] | None
    top: int
    skip: int
    count: bool
    match: Predicate | None

    @classmethod
    def parse(cls, request: Request, properties: Sequence[str], type_name: str,
              default_top: int = 100, max_top: int = MAX_TOP) -> Query:
        """The request's options, checked against the properties the collection's items have;
        GraphError as Graph answers a bad or unsupported option."""
        select = parse_select(request, properties, type_name)
        top_text = request.param("top")
        try:
            top = default_top if top_text is None else int(top_text)
        except ValueError:
            raise GraphError(400, "BadRequest", f"Invalid $top value '{top_text}'.") from None
        if not 1 <= top <= max_top:
            raise unsupported(f"Invalid page size specified: '{top}'. Must be between 1 and "
                              f"{max_top} inclusive.")
        count = (request.param("count") or "").lower() == "true"
        tests: list[Predicate] = []
        flt = request.param("filter")
        if flt:
            tests.append(parse_filter(flt, properties, type_name))
        search = request.param("search")
        if search:
            if not eventual(request):
                raise unsupported("Request with $search query parameter only works through "
                                  "MSGraph with a special request header: 'ConsistencyLevel: "
                                  "eventual'")
            tests.append(parse_search(search))
        match = None if not tests else (lambda p: all(t(p) for t in tests))
        return cls(select, top, skip_of(request), count, match)


def parse_select(request: Request, properties: Sequence[str], type_name: str
                 ) -> list[str] | None:
    text = request.param("select")
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in properties:
            raise GraphError(400, "Request_BadRequest", f"Could not find a property named "
                             f"'{n}' on type 'microsoft.graph.{type_name}'.")
    return names


def skip_of(request: Request) -> int:
    """Where a page starts: 0, or what the $skiptoken of a nextLink says."""
    token = request.param("skiptoken")
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode() + b"==").decode()
        kind, _, number = text.partition(":")
        if kind != "RCskip" or int(number) < 0:
            raise ValueError(text)
        return int(number)
    except ValueError:
        raise GraphError(400, "Request_BadRequest", "Invalid skip token.") from None


def skip_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"RCskip:{offset}".encode()).decode().rstrip("=")


def next_link(base_url: str, request: Request, offset: int) -> str:
    """The absolute URL of the page at `offset`: the same request with another $skiptoken."""
    query = [(k, v) for k, v in request.query if k.lstrip("$").lower() != "skiptoken"]
    query.append(("$skiptoken", skip_token(offset)))
    return f"{base_url}{request.path}?{urlencode(query, quote_via=quote, safe='$,()/:')}"


def page(items: Sequence[Any], query: Query, request: Request, base_url: str,
         render: Callable[[Any], dict[str, Any]], context: str | None = None) -> dict[str, Any]:
    """One page of a collection, with @odata.count when asked and a nextLink while more remain."""
    body: dict[str, Any] = {}
    if context:
        body["@odata.context"] = context
    if query.count:
        body["@odata.count"] = len(items)
    end = query.skip + query.top
    if end < len(items):
        body["@odata.nextLink"] = next_link(base_url, request, end)
    body["value"] = [render(i) for i in items[query.skip:end]]
    return body


def _literal(text: str) -> str:
    return text.replace("''", "'")


def parse_filter(text: str, properties: Sequence[str], type_name: str) -> Predicate:
    """A $filter as a test on an object's properties; GraphError when it is not understood."""
    parts = re.split(r"\s+(and|or)\s+(?=(?:[^']*'[^']*')*[^']*$)", text.strip(), flags=re.I)
    clauses, joins = parts[::2], {j.lower() for j in parts[1::2]}
    if len(joins) > 1:
        raise unsupported("Mixing 'and' with 'or' in $filter is not supported here.")
    tests = [_clause(c.strip(), properties, type_name) for c in clauses]
    if joins == {"or"}:
        return lambda p: any(t(p) for t in tests)
    return lambda p: all(t(p) for t in tests)


def _clause(text: str, properties: Sequence[str], type_name: str) -> Predicate:
    def known(prop: str) -> str:
        if prop not in properties:
            raise unsupported(f"Unsupported or invalid query filter clause specified for "
                              f"property '{prop}' of resource '{type_name}'.")
        return prop

    if m := _ANY.match(text):
        prop = known(m.group(1))
        eq, starts = m.group(3), m.group(4)
        if eq is not None:
            want = _literal(eq).lower()
            return lambda p: any(str(v).lower() == want for v in p.get(prop) or ())
        prefix = _literal(starts or "").lower()
        return lambda p: any(str(v).lower().startswith(prefix) for v in p.get(prop) or ())
    if m := _EQ.match(text):
        prop, want = known(m.group(1)), _literal(m.group(2)).lower()
        return lambda p: str(p.get(prop) or "").lower() == want and p.get(prop) is not None
    if m := _STARTS.match(text):
        prop, prefix = known(m.group(1)), _literal(m.group(2)).lower()
        return lambda p: p.get(prop) is not None and str(p[prop]).lower().startswith(prefix)
    if m := _IN.match(text):
        prop = known(m.group(1))
        wanted = {_literal(v).lower() for v in re.findall(_LITERAL, m.group(2))}
        return lambda p: p.get(prop) is not None and str(p[prop]).lower() in wanted
    raise unsupported(f"Unsupported query: the filter clause '{text}' is not understood.")


def parse_search(text: str) -> Predicate:
    """$search="displayName:words" (or mail:): each word a prefix of a word of the display
    name, or of the address; clauses joined by OR or AND."""
    clauses = _SEARCH.findall(text)
    if not clauses:
        raise GraphError(400, "Request_UnsupportedQuery", "Syntax error: the $search value "
                         "must be quoted, like \"displayName:smith\".")
    any_of = " or " in text.lower() and " and " not in text.lower()

    def one(prop: str, value: str) -> Predicate:
        words = [w for w in _WORDS.split(value.lower()) if w]

        def test(p: dict[str, Any]) -> bool:
            name = [w for w in _WORDS.split(str(p.get("displayName") or "").lower()) if w]
            mail = str(p.get("mail") or "").lower()
            return bool(words) and all(
                mail.startswith(w) or any(n.startswith(w) for n in name) for w in words)
        return test

    tests = [one(prop, value) for prop, value in clauses]
    if any_of:
        return lambda p: any(t(p) for t in tests)
    return lambda p: all(t(p) for t in tests)
