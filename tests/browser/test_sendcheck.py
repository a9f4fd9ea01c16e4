"""The send check (addin/sendcheck.js) in Chromium: in a Web Worker, which has no DOM like classic
Outlook's JavaScript-only runtime, and in commands.html, against the real app and canned answers.
Every path must end in exactly one event.completed, with the options Outlook needs."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pane_support import OFFICE_JS, PARTNERS
from werkzeug.serving import make_server

from support import demo_config, rollcall_app, token

HERE = Path(__file__).resolve().parent
STUB = (HERE / "sendcheck_stub.js").read_text()
ALICE = {"displayName": "Alex Wilber", "emailAddress": "alex@contoso.com"}
CANNED = {
    "allow": {"action": "allow", "message": "14 people will receive it.", "findings": []},
    "warn": {"action": "warn", "message": "It goes to 495 people. Send anyway if this is what "
             "you meant.", "findings": [{"rule": "large_audience", "action": "warn"}]},
    "block": {"action": "block", "message": 'Nobody in the directory matches "Nobody Atall": '
              "correct or remove it.", "findings": [{"rule": "unresolved", "action": "block"}]},
}


@dataclass
class Backend:
    """The real app, or canned answers for /api/validate*: allow, warn, block, hang, error."""

    url: str
    mode: str = "real"
    seen: list[tuple[str, Any]] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)  # each request's Authorization


@pytest.fixture(scope="module")
def backend(demo_simulator: Any, tmp_path_factory: Any) -> Iterator[Backend]:
    instance = tmp_path_factory.mktemp("sendcheck")
    # With the development issuer, as `rollcall demo` runs: the handler signs in through it.
    app = rollcall_app(demo_config(demo_simulator[0], instance_path=str(instance)))
    state = Backend("")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/api/validate") or environ["REQUEST_METHOD"] != "POST":
            return app(environ, start_response)
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        state.seen.append((path, json.loads(raw or b"null")))
        state.tokens.append(environ.get("HTTP_AUTHORIZATION"))
        if state.mode == "hang":
            time.sleep(6)  # longer than the handler's 3.5 s
        if state.mode == "error":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "server_error", "message": "boom"}}']
        if state.mode in CANNED:
            status, body = (("202 ACCEPTED", {"warming": True}) if path.endswith("/warmup")
                            else ("200 OK", CANNED[state.mode]))
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    thread.join(5)


@pytest.fixture
def runtime(browser: Any, backend: Backend) -> Iterator[Callable[..., dict[str, Any]]]:
    """runtime(handler, mode="allow", **config): run one handler in a worker; its result."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A blank page without the pane's CSP, so a worker can start from a blob.
    page.route(backend.url + "/harness.html", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>harness</title>"))
    page.goto(backend.url + "/harness.html")

    def run(handler: str, mode: str = "allow", **config: Any) -> dict[str, Any]:
        backend.mode = mode
        backend.seen.clear()
        backend.tokens.clear()
        result: dict[str, Any] = page.evaluate(WORKER, {
            "stub": STUB, "script": backend.url + "/sendcheck.js", "handler": handler,
            "config": config})
        return result

    yield run
    context.close()
    assert errors == []


WORKER = """async ({stub, script, handler, config}) => {
  if (!self.__worker) {
    const source = stub + "\\nimportScripts(" + JSON.stringify(script) + ");\\n"
      + "onmessage = (e) => { __sendcheck.configure(e.data.config);"
      + " __sendcheck.run(e.data.handler).then((r) => postMessage(r)); };";
    self.__worker = new Worker(URL.createObjectURL(new Blob([source])));
  }
  return await new Promise((resolve, reject) => {
    self.__worker.onmessage = (e) => resolve(e.data);
    self.__worker.onerror = (e) => reject(new Error(e.message));
    self.__worker.postMessage({handler, config});
  });
}"""
SEND, CHANGED = "onMessageSendHandler", "onMessageRecipientsChangedHandler"


def test_allow_lets_the_message_go_and_sends_what_the_server_needs(runtime, backend):
    result = runtime(SEND, "allow", to=[PARTNERS], cc=[ALICE], subject="Quarterly update")
    assert result["completions"] == [{"allowEvent": True}]
    [(path, body)] = backend.seen
    assert path == "/api/validate"
    assert body["recipients"] == [PARTNERS, ALICE]
    assert body["subject"] == "Quarterly update"
    assert "mailbox" not in body  # who sends is the token's business, never the body's
    assert body["message_id"].startswith("m-")
    assert (backend.tokens[0] or "").startswith("Bearer ey")  # from the development issuer


def test_outlook_single_sign_on_gives_the_token_when_it_can(runtime, backend):
    sso = token("megan@contoso.com")
    result = runtime(SEND, "real", to=[PARTNERS], ssoToken=sso)
    assert result["completions"][0]["allowEvent"] is False  # the real verdict: external people
    assert backend.tokens == [f"Bearer {sso}"]


def test_warn_offers_send_anyway_and_a_button_to_the_pane(runtime):
    result = runtime(SEND, "warn", to=[PARTNERS])
    assert result["completions"] == [{
        "allowEvent": False, "errorMessage": CANNED["warn"]["message"],
        "cancelLabel": "Review in Rollcall", "commandId": "Rollcall.CountButton",
        "sendModeOverride": "promptUser"}]


def test_block_holds_the_message_without_send_anyway(runtime):
    result = runtime(SEND, "block", to=[{"displayName": "Nobody Atall", "emailAddress": ""}])
    assert result["completions"] == [{
        "allowEvent": False, "errorMessage": CANNED["block"]["message"],
        "cancelLabel": "Review in Rollcall", "commandId": "Rollcall.CountButton"}]


def test_before_mailbox_1_14_a_warning_is_sent_anyway_by_sending_again(runtime):
    first = runtime(SEND, "warn", to=[PARTNERS], mailboxVersion="1.12")
    [options] = first["completions"]
    assert options["allowEvent"] is False and "cancelLabel" not in options
    assert options["errorMessage"].endswith("To send it anyway, choose Send again.")
    second = runtime(SEND, "warn", to=[PARTNERS], mailboxVersion="1.12", keepSession=True)
    assert second["completions"] == [{"allowEvent": True}]
    without_session = runtime(SEND, "warn", to=[PARTNERS], mailboxVersion="1.12", noSession=True)
    assert without_session["completions"] == [{"allowEvent": True}]  # never trap the sender


def test_a_backend_that_hangs_is_given_up_on_before_outlook_grows_impatient(runtime):
    result = runtime(SEND, "hang", to=[PARTNERS])
    assert result["completions"] == [{"allowEvent": True}]  # the backend would have said warn
    assert [c[0] for c in result["calls"]] == ["replaceAsync"]  # says so, in the compose window


def test_a_backend_error_lets_the_message_go_and_says_so_once(runtime):
    result = runtime(SEND, "error", to=[PARTNERS])
    assert result["completions"] == [{"allowEvent": True}]
    [(kind, key, notice)] = result["calls"]
    assert (kind, key) == ("replaceAsync", "rollcallUnavailable")
    assert notice["type"] == "informationalMessage" and len(notice["message"]) <= 150
    again = runtime(SEND, "error", to=[PARTNERS], keepSession=True)
    assert again["completions"] == [{"allowEvent": True}] and again["calls"] == []


def test_outlook_failing_to_give_recipients_lets_the_message_go(runtime, backend):
    result = runtime(SEND, "block", to=[PARTNERS], failField="to")
    assert result["completions"] == [{"allowEvent": True}]
    assert backend.seen == []


def test_no_recipients_means_nothing_to_check(runtime, backend):
    assert runtime(SEND, "block")["completions"] == [{"allowEvent": True}]
    assert backend.seen == []


def test_the_same_message_keeps_its_id_when_sent_again(runtime, backend):
    runtime(SEND, "allow", to=[PARTNERS])
    first = backend.seen[0][1]["message_id"]
    runtime(SEND, "allow", to=[PARTNERS, ALICE], keepSession=True)
    assert backend.seen[0][1]["message_id"] == first
    runtime(SEND, "allow", to=[PARTNERS])  # a new message
    assert backend.seen[0][1]["message_id"] != first


def test_recipients_changed_warms_up_once_and_completes_once(runtime, backend):
    result = runtime(CHANGED, "allow", to=[PARTNERS])
    assert result["completions"] == [None]  # event.completed() without options
    assert backend.seen == [("/api/validate/warmup", {"recipients": [PARTNERS]})]


def test_a_failing_warm_up_puts_up_the_notice_once_and_takes_it_down_on_recovery(runtime):
    failed = runtime(CHANGED, "error", to=[PARTNERS])
    assert failed["completions"] == [None]
    assert [c[0] for c in failed["calls"]] == ["replaceAsync"]
    again = runtime(CHANGED, "error", to=[PARTNERS], keepSession=True)
    assert again["completions"] == [None] and again["calls"] == []
    back = runtime(CHANGED, "allow", to=[PARTNERS], keepSession=True)
    assert back["calls"] == [["removeAsync", "rollcallUnavailable"]]


def test_end_to_end_against_the_demo_organisation(runtime):
    external = runtime(SEND, "real", to=[PARTNERS], subject="Partner update")
    [options] = external["completions"]
    assert options["allowEvent"] is False and options["sendModeOverride"] == "promptUser"
    assert "outside your organisation" in options["errorMessage"]
    nobody = runtime(SEND, "real", to=[{"displayName": "Nobody Atall", "emailAddress": ""}])
    [options] = nobody["completions"]
    assert options["allowEvent"] is False and "sendModeOverride" not in options
    assert '"Nobody Atall"' in options["errorMessage"]
    fine = runtime(SEND, "real", to=[ALICE])
    assert fine["completions"] == [{"allowEvent": True}]


def test_commands_html_runs_the_same_handler_in_the_browser_runtime(browser, backend):
    backend.mode = "real"
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(OFFICE_JS, lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=STUB))
        page.goto(backend.url + "/commands.html")
        page.wait_for_function("Object.keys(self.__sendcheck.associated).length === 2")
        result = page.evaluate("""async (to) => {
            __sendcheck.configure({to});
            return await __sendcheck.run("onMessageSendHandler");
        }""", [{"displayName": "All Staff", "emailAddress": "allstaff@contoso.com"}])
        [options] = result["completions"]
        assert options["allowEvent"] is False and "495 people" in options["errorMessage"]
        assert errors == []
    finally:
        context.close()
