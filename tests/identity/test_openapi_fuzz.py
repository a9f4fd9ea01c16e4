"""A bounded fuzz run of /api/openapi.json (schemathesis): whatever the document allows is sent
with a valid token, and every answer must be documented, match its schema, and never be a 5xx.
Then hostile bodies no schema describes (Hypothesis): lone surrogates, control characters, huge
numbers and JSON nested 100,000 deep, refused in the error shape and never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from dns_server import LocalDnsServer
from support import bearer, demo_config, rollcall_app

CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance, checks.ignored_auth]
# schemathesis' own strategies draw from `random`, which Hypothesis warns about; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES = 50  # per operation and mode: about 20 s in all against the demo organisation


@pytest.fixture(scope="module")
def app(demo_simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sim, _ = demo_simulator
    # A relay is configured so that sends are queued (no worker runs here: nothing is sent);
    # the relay health check asks a local DNS server that knows nothing, never the internet.
    with LocalDnsServer({}) as dns:
        yield rollcall_app(demo_config(sim, instance_path=str(tmp_path_factory.mktemp("fuzz")),
                                       rate_limit_per_minute=0, smtp_url="smtp://127.0.0.1:9",
                                       dns_server=dns.address))


def test_the_document_describes_every_api_route_and_no_other(app: Any) -> None:
    served = {(_openapi_path(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") or rule.rule == "/healthz"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    document = app.test_client().get("/api/openapi.json").get_json()
    described = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert described == served


def _openapi_path(rule: str) -> str:
    """Flask's /api/lists/<name>/members/<path:member> as OpenAPI's {name} and {member}."""
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


@pytest.fixture(scope="module")
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_documented_and_none_is_a_server_error(api_schema: Any,
                                                                mode: GenerationMode) -> None:
    """Positive: what the document allows; negative: what it forbids (bad types, missing
    fields, stray values), which must be refused with a documented 4xx, never a 5xx."""
    # Hypothesis driven directly: schemathesis' pytest plugin does not support pytest 9 yet.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # An administrator's token, so the admin view is exercised too, not only refused.
    headers = bearer("isaiah@contoso.com")
    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            fuzz()
        except Unsatisfiable:
            # Nothing to negate (no parameters, no body): the positive run covers it.
            assert mode is GenerationMode.NEGATIVE, operation.label



# -- hostile input: what a schema-driven fuzzer does not send -------------------------------------

HOSTILE_EXAMPLES = 100  # per route: about 25 s in all
# Plausible bodies first, so hostile values reach counting, storing and sending, not only the
# first check; then one or two values spoiled.
_NAME = st.one_of(st.sampled_from(["Alex Wilber", "All Staff", "Comms Champions", "Leadership"]),
                  st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=30))
_ADDRESS = st.one_of(st.sampled_from(["alex@contoso.com", "allstaff@contoso.com", "",
                                      "leadership@contoso.com", "someone@example.org"]),
                     st.emails().map(lambda e: e[:60]))
_RECIPIENTS = st.lists(st.fixed_dictionaries({"displayName": _NAME, "emailAddress": _ADDRESS}),
                       min_size=1, max_size=3)
_COUNT = st.integers(min_value=0, max_value=2000)
CLEAN: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/api/count": st.fixed_dictionaries({"recipients": _RECIPIENTS},
                                        optional={"expected": _COUNT, "refresh": st.booleans()}),
    "/api/validate": st.fixed_dictionaries(
        {"recipients": _RECIPIENTS},
        optional={"subject": _NAME, "expected": _COUNT, "message_id": _NAME}),
    "/api/validate/warmup": st.fixed_dictionaries({"recipients": _RECIPIENTS}),
    "/api/lists": st.fixed_dictionaries({"name": _NAME}, optional={"expected": _COUNT}),
    "/api/lists/Fuzzed/members": st.fixed_dictionaries(
        {"email": _ADDRESS}, optional={"name": _NAME,
                                       "attributes": st.dictionaries(_NAME, _NAME, max_size=2)}),
    "/api/contacts/reader@contoso.com/opt-out": st.fixed_dictionaries(
        {"opted_out": st.booleans()}),
}
FIELDS = {"/api/count": ("recipients", "expected", "refresh", "mailbox"),
          "/api/validate": ("recipients", "subject", "expected", "message_id", "mailbox"),
          "/api/validate/warmup": ("recipients", "mailbox"),
          "/api/lists": ("name", "expected"),
          "/api/lists/Fuzzed/members": ("email", "name", "exchange", "list", "attributes"),
          "/api/contacts/reader@contoso.com/opt-out": ("opted_out",)}
# Lone surrogates, C0 and C1 controls, Unicode's line and paragraph separators: each broke
# parsing, storing or sending once.
_NASTY = st.characters(categories=["Cs", "Cc", "Zl", "Zp"])
_HOSTILE_TEXT = st.one_of(
    st.text(st.one_of(_NASTY, st.characters()), min_size=1, max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "evil@example.com\r\nBcc: all@contoso.com", "\x00",
                     "alex@contoso.com\u2028", "list:\ud800", "/o=Contoso/cn=\x85", "x" * 5000,
                     "alex@contoso.com\t", " ", "list:", "/"]))
# Raw JSON a serialiser would never write: nesting past the parser's recursion, numbers past
# any integer a database holds or Python converts, and the constants JSON does not have.
_RAW_MARK = "__raw__"
_RAW = st.sampled_from(["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                        "[" * 20 + "]" * 20, "NaN", "-Infinity", "1e400", "1" + "0" * 5000,
                        str(2**63), str(2**64), "-1", "10000001", "1.5", "-0"])
_HOSTILE = st.one_of(_HOSTILE_TEXT, st.just(_RAW_MARK),
                     st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
                     st.lists(_HOSTILE_TEXT, max_size=2),
                     st.dictionaries(_HOSTILE_TEXT, _HOSTILE_TEXT, max_size=2))


def _spoil(body: dict[str, Any], path: str, data: st.DataObject) -> None:
    """Set one field (a top-level one, or a recipient's) to a hostile value."""
    targets: list[tuple[dict[str, Any], str]] = [(body, field) for field in FIELDS[path]]
    recipients = body.get("recipients")
    for recipient in recipients if isinstance(recipients, list) else ():
        if isinstance(recipient, dict):
            targets += [(recipient, "displayName"), (recipient, "emailAddress")]
    where, key = data.draw(st.sampled_from(targets))
    where[key] = data.draw(_HOSTILE)


@pytest.mark.parametrize("path", sorted(CLEAN))
def test_hostile_bodies_are_refused_in_the_error_shape_never_a_server_error(app: Any,
                                                                             path: str) -> None:
    """Lone surrogates, control characters, huge numbers and JSON nested 100,000 deep in any
    field of every JSON body: an answer, or a 4xx with {"error": {"code", "message"}}; no 5xx."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer()["Authorization"]
    client.post("/api/lists", json={"name": "Fuzzed"})  # 201, or 409 when it exists already

    @given(data=st.data())
    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(data: st.DataObject) -> None:
        body = data.draw(CLEAN[path])
        for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
            _spoil(body, path, data)
        # ensure_ascii writes a lone surrogate as \ud800, as a hostile client would send it.
        text = json.dumps(body, ensure_ascii=True)
        if _RAW_MARK in text:
            text = text.replace(json.dumps(_RAW_MARK), data.draw(_RAW))
        answer = client.post(path, data=text, content_type="application/json")
        assert answer.status_code < 500, (answer.status_code, answer.get_data(as_text=True))
        if answer.status_code >= 400:
            error = (answer.get_json(silent=True) or {}).get("error")
            assert isinstance(error, dict), answer.get_data(as_text=True)[:300]
            assert isinstance(error.get("code"), str) and error["code"]
            assert isinstance(error.get("message"), str) and error["message"]

    fuzz()
