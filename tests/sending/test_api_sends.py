"""The tracked-send API: who may see which send, the dry run, the test send, bad input, and the
links inside messages (one-click unsubscribe, the open pixel, click redirects)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from send_support import FAST, drain

from support import demo_config, rollcall_app, signed_in

PARTNERS = [{"displayName": "External Partners", "emailAddress": "partners@contoso.com"}]
BODY = {"recipients": PARTNERS, "subject": "Quarterly update",
        "html": '<p>Hello <a href="https://intranet.contoso.com/q3">the report</a></p>'}


@pytest.fixture
def app(demo_simulator: Any, relay: Any, tmp_path: Any) -> Any:
    config = demo_config(demo_simulator[0], instance_path=str(tmp_path / "instance"),
                         smtp_url=relay.url, tracking="individual", **FAST)
    return rollcall_app(config)


def test_a_dry_run_says_what_will_happen_and_queues_nothing(app, relay):
    megan = signed_in(app)
    answer = megan.post("/api/sends", json={**BODY, "dry_run": True})
    assert answer.status_code == 200
    plan = answer.get_json()["plan"]
    assert plan["messages"] == 14 and plan["suppressed"] == {}
    assert plan["relay"] == f"127.0.0.1:{relay.port}" and plan["fallback"] is None
    assert plan["send_check"]["action"] in ("allow", "warn")
    assert megan.get("/api/sends").get_json() == {"sends": []}


def test_a_send_is_its_senders_alone(app):
    megan, alex = signed_in(app), signed_in(app, "alex@contoso.com")
    made = megan.post("/api/sends", json=BODY)
    assert made.status_code == 201
    send = made.get_json()
    assert send["status"] == "queued" and send["counts"]["queued"] == 14
    assert send["plan"]["messages"] == 14
    mine = megan.get(f"/api/sends/{send['id']}")
    assert mine.status_code == 200 and mine.get_json()["id"] == send["id"]
    for path in (f"/api/sends/{send['id']}", f"/api/sends/{send['id']}/recipients"):
        theirs = alex.get(path)
        assert theirs.status_code == 404
        assert theirs.get_json()["error"]["code"] == "send_not_found"
    assert alex.get("/api/sends").get_json() == {"sends": []}
    admin = signed_in(app, "isaiah@contoso.com")  # the demo's Exchange administrator
    assert admin.get(f"/api/sends/{send['id']}").status_code == 200


def test_the_recipients_record_every_fate_and_filter_by_state(app, relay):
    from smtp_simulator import Rule

    relay.set_rules([Rule("*@fabrikam.com", "reject")])
    megan = signed_in(app)
    send = megan.post("/api/sends", json=BODY).get_json()
    drain(app.extensions["rollcall"])
    done = megan.get(f"/api/sends/{send['id']}").get_json()
    assert done["status"] == "done" and done["finished_at"]
    failed = megan.get(f"/api/sends/{send['id']}/recipients?state=failed").get_json()
    assert failed["recipients"] and all(r["address"].endswith("@fabrikam.com")
                                        for r in failed["recipients"])
    reply = failed["recipients"][0]["reply"]
    assert (reply["code"], reply["enhanced"], reply["stage"]) == (550, "5.1.1", "rcpt")
    sent = megan.get(f"/api/sends/{send['id']}/recipients?state=sent").get_json()["recipients"]
    assert len(sent) + len(failed["recipients"]) == 14
    queue_ids = {a.queue_id for a in relay.accepted}
    assert {r["remote_id"] for r in sent} == queue_ids
    bad = megan.get(f"/api/sends/{send['id']}/recipients?state=lost")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_state"


def test_a_test_send_goes_to_the_sender_only(app, relay):
    megan = signed_in(app)
    answer = megan.post("/api/sends/test", json={"subject": "Draft", "text": "Hello"})
    assert answer.status_code == 201 and answer.get_json()["test"] is True
    drain(app.extensions["rollcall"])
    assert [a.rcpt_to for a in relay.accepted] == [("megan@contoso.com",)]
    assert b"Subject: [Test] Draft" in relay.accepted[0].data


@pytest.mark.parametrize(("change", "code"), [
    ({"subject": ""}, "bad_subject"),
    ({"subject": 5}, "bad_subject"),
    ({"html": None}, "no_body"),
    ({"html": ["x"]}, "bad_html"),
    ({"dry_run": "yes"}, "bad_dry_run"),
    ({"allow_incomplete": 1}, "bad_allow_incomplete"),
    ({"recipients": []}, "no_recipients"),
])
def test_bad_input_is_a_named_400_and_queues_nothing(app, change, code):
    megan = signed_in(app)
    answer = megan.post("/api/sends", json={**BODY, **change})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code
    assert megan.get("/api/sends").get_json() == {"sends": []}


def test_without_a_relay_the_answer_says_so(demo_simulator, tmp_path):
    app = rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path)))
    answer = signed_in(app).post("/api/sends", json=BODY)
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "smtp_not_configured"
    assert "ROLLCALL_SMTP_URL" in answer.get_json()["error"]["message"]


def test_a_blocked_send_answers_the_send_checks_verdict(demo_simulator, relay, tmp_path):
    app = rollcall_app(demo_config(demo_simulator[0], instance_path=str(tmp_path),
                                   smtp_url=relay.url, policy_external="block",
                                   policy_external_max=0))
    answer = signed_in(app).post("/api/sends", json=BODY)
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "send_blocked" and error["send_check"]["action"] == "block"


def _token(app: Any, send_id: int) -> str:
    from rollcall.lists import operator

    record = app.extensions["rollcall"].sends.recipients(send_id, operator())[0]
    return record.message_id[1:].split(".")[0]


def test_one_click_unsubscribe_needs_no_sign_in_and_get_changes_nothing(app):
    megan = signed_in(app)
    send = megan.post("/api/sends", json=BODY).get_json()
    token = _token(app, send["id"])
    anonymous = app.test_client()
    looked = anonymous.get(f"/u/{token}")  # a link scanner opening it must not unsubscribe
    assert looked.status_code == 200 and b"<form method=\"post\">" in looked.data
    again = megan.post("/api/sends", json={**BODY, "dry_run": True}).get_json()["plan"]
    assert again["suppressed"] == {}
    for _ in range(2):  # RFC 8058's POST, twice: the same answer, one suppression
        done = anonymous.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and b"unsubscribed" in done.data
    plan = megan.post("/api/sends", json={**BODY, "dry_run": True}).get_json()["plan"]
    assert plan["suppressed"] == {"unsubscribed": 1} and plan["messages"] == 13
    assert anonymous.post("/u/0123456789abcdef0123").status_code == 404
    assert anonymous.post("/u/not-a-token").status_code == 404


def test_opens_and_clicks_are_recorded_with_a_verdict_and_forged_tokens_are_refused(app, relay):
    import email
    import email.policy
    import re

    megan = signed_in(app)
    send = megan.post("/api/sends", json=BODY).get_json()
    drain(app.extensions["rollcall"])
    message = email.message_from_bytes(relay.accepted[0].data, policy=email.policy.SMTP)
    html = message.get_body(("html",)).get_content()
    click = re.search(r'href="http://localhost(/t/c/[^"]+)"', html).group(1)
    pixel = re.search(r'src="http://localhost(/t/o/[^"]+)"', html).group(1)
    browser = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
               "(KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0"}
    anonymous = app.test_client()
    # Seconds after delivery: only a link scanner (Safe Links) clicks that fast.
    followed = anonymous.get(click, headers=browser)
    assert followed.status_code == 302
    assert followed.headers["Location"] == "https://intranet.contoso.com/q3"
    from sqlalchemy import update

    from rollcall.store.outbox_models import SendRecipientRow
    from rollcall.store.queries import utcnow

    with app.extensions["rollcall"].sends.outbox.engine.begin() as conn:  # an hour later
        conn.execute(update(SendRecipientRow).values(sent_at=utcnow() - timedelta(hours=1)))
    assert anonymous.get(click, headers=browser).status_code == 302
    assert anonymous.get(pixel, headers={"User-Agent": "Mozilla/5.0"}).mimetype == "image/gif"
    assert anonymous.get(click[:-3] + "AAA").status_code == 404  # a forged click token
    seen = app.extensions["rollcall"].sends.records.engagement(send["id"])
    assert seen["click"] == {"scanner": 1, "human": 1}
    assert seen["open"] == {"apple_proxy": 1}  # Apple Mail Privacy Protection's bare agent


def test_exchange_down_refuses_the_send_in_words_and_queues_nothing(app, demo_simulator):
    megan = signed_in(app)
    demo_simulator[0].apply_faults("busy")
    try:
        answer = megan.post("/api/sends", json={**BODY, "allow_incomplete": True})
    finally:
        demo_simulator[0].apply_faults("")
    error = answer.get_json()["error"]
    assert (answer.status_code, error["code"]) == (503, "exchange_busy") and error["request_id"]
    assert answer.headers["Retry-After"]
    assert "Traceback" not in error["message"]
    assert megan.get("/api/sends").get_json() == {"sends": []}


@pytest.mark.parametrize("send_id", ["0", "2147483648", "9223372036854775808"])
def test_an_id_no_database_holds_is_simply_not_found(app, send_id):
    answer = signed_in(app).get(f"/api/sends/{send_id}/recipients")
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "send_not_found"


def test_a_send_acts_as_the_caller_only(app):
    answer = signed_in(app).post("/api/sends", json={**BODY, "mailbox": "alex@contoso.com"})
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "not_your_mailbox"
