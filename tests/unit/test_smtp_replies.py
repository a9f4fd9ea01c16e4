"""SMTP replies: enhanced codes, the outcome of real relays' replies, meanings, queue ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.sending.replies import (
    BASIC,
    ENHANCED,
    Outcome,
    Reply,
    Stage,
    Verdict,
    classify,
    enhanced_code,
    meaning,
    queue_id,
    retry_hint,
)

S = Stage
ACCEPTED, R_TEMP = Outcome.ACCEPTED, Outcome.RECIPIENT_TRANSIENT
R_PERM = Outcome.RECIPIENT_PERMANENT
RELAY_TEMP, PAUSED, MSG = Outcome.RELAY_TRANSIENT, Outcome.RELAY_PAUSED, Outcome.MESSAGE_PERMANENT
SESSION = (S.CONNECT, S.EHLO, S.STARTTLS, S.AUTH)


def verdict(code: int | None, text: str, stage: Stage) -> Verdict:
    return classify(Reply(code, text, stage))


# --- Enhanced codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("5.1.1 <bob@example.com>: Recipient address rejected: User unknown", "5.1.1"),
    ("550 5.1.1 <bob@example.com>: unknown", "5.1.1"),  # the basic code left in
    ("550-5.7.1 This message does not have authentication information", "5.7.1"),
    ("5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found", "5.1.10"),  # not 5.1.1
    ("5.7.233 Your message can't be sent", "5.7.233"),
    ("2.6.0 <a@b> [InternalId=1] Queued mail for delivery", "2.6.0"),
    ("  4.7.1 Greylisted", "4.7.1"),
    ("5.0.0", "5.0.0"),
    ("2.0.0. Ok", "2.0.0"),  # a full stop after it is punctuation
    ("5.7.1;spam", "5.7.1"),
])
def test_enhanced_code_is_read_from_the_start_of_the_text(text, expected):
    assert enhanced_code(text) == expected
    assert Reply(550, text, S.RCPT).enhanced == expected


@pytest.mark.parametrize("text", [
    "", "Ok: queued as 5.1.1", "User unknown 5.1.1", "3.1.1 not a class", "1.2.3 no",
    "5.01.1 leading zero", "5.1.01 leading zero", "5.1.1000 four digits", "5.1000.1",
    "5.1.1.2 a version", "5.1.1x a word", "5.1 too short", "Exim 4.96", "5..1 broken",
])
def test_text_without_an_enhanced_code_gives_none(text):
    assert enhanced_code(text) is None


@given(st.sampled_from("245"), st.integers(0, 999), st.integers(0, 999),
       st.sampled_from([" text", "", "\nmore", ";x"]))
def test_every_valid_enhanced_code_is_read_back(klass, subject, detail, tail):
    code = f"{klass}.{subject}.{detail}"
    assert enhanced_code(code + tail) == code


@given(st.text(max_size=40))
def test_enhanced_code_never_raises_and_only_returns_a_prefix_of_the_text(text):
    found = enhanced_code(text)
    if found is not None:
        assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", found)
        assert found in text


# --- Outcomes ---------------------------------------------------------------------------------

CASES = [
    # No reply at all: connection-level, the relay's problem, never the recipient's.
    (None, "[Errno 111] Connection refused", S.CONNECT, RELAY_TEMP),
    (None, "timed out", S.DATA, RELAY_TEMP),
    (None, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", S.STARTTLS, RELAY_TEMP),
    (None, "Connection unexpectedly closed", S.RCPT, RELAY_TEMP),
    # 421 anywhere.
    (421, "4.4.2 Message submission rate for this client has exceeded the configured limit",
     S.MAIL, RELAY_TEMP),  # Exchange receive connector
    (421, "4.3.2 Service currently unavailable", S.CONNECT, RELAY_TEMP),  # Postfix
    (421, "4.7.0 Try again later, closing connection. (EHLO) - gsmtp", S.EHLO, RELAY_TEMP),
    (421, "4.4.2 mx.example.com Error: timeout exceeded", S.RCPT, RELAY_TEMP),
    # Rate and throttling signals: slow the relay, not the recipient's fault.
    (432, "4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending",
     S.MAIL, RELAY_TEMP),  # Exchange Online SMTP AUTH
    (451, "4.3.0 Rate limit exceeded, try again in 60 seconds", S.RCPT, RELAY_TEMP),
    (452, "4.5.3 Too many recipients", S.RCPT, RELAY_TEMP),
    (454, "Throttling failure: Maximum sending rate exceeded.", S.DATA, RELAY_TEMP),  # SES
    (450, "4.7.1 Error: too many concurrent connections from 10.0.0.5", S.MAIL, RELAY_TEMP),
    (451, "4.7.500 Server busy. Please try again later from [192.0.2.10]. (S77719)", S.RCPT,
     RELAY_TEMP),  # Exchange Online's temporary sender restriction
    # Sign-in and configuration: pause the relay, recipients untouched.
    (530, "5.7.57 Client not authenticated to send mail. [BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM]",
     S.MAIL, PAUSED),
    (535, "5.7.3 Authentication unsuccessful [SN4PR0501CA0054.namprd05.prod.outlook.com]",
     S.AUTH, PAUSED),
    (535, "5.7.8 Username and Password not accepted. Learn more at "
          "https://support.google.com/mail/?p=BadCredentials", S.AUTH, PAUSED),
    (535, "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
          "Tenant.", S.AUTH, PAUSED),
    (550, "5.7.30 Basic authentication is not supported for Client Submission.", S.RCPT, PAUSED),
    (550, "5.7.60 SMTP; Client does not have permissions to send as this sender", S.DATA, PAUSED),
    (550, "5.7.1 Client does not have permissions to send as this sender", S.DATA, PAUSED),
    (530, "5.7.0 Must issue a STARTTLS command first", S.MAIL, PAUSED),
    (550, "5.7.0 Authentication required", S.RCPT, PAUSED),
    (553, "5.7.1 <ann@contoso.com>: Sender address rejected: not owned by user relay@contoso.com",
     S.MAIL, PAUSED),  # Postfix: 553 at MAIL FROM
    (550, "5.7.64 TenantAttribution; Relay Access Denied", S.RCPT, PAUSED),
    (550, "5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from "
          "unauthorized sources", S.RCPT, PAUSED),
    (550, "5.7.54 SMTP; Unable to relay recipient in non-accepted domain", S.RCPT, PAUSED),
    # Quota and bans: 5xx that are not bounces.
    (554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to "
          "process message due to a permanent exception", S.DATA, PAUSED),
    (550, "5.7.233 Your message can't be sent because your organization has reached its limit "
          "for external recipients", S.RCPT, PAUSED),
    (550, "5.7.232 Your message can't be sent because your trial tenant has exceeded its daily "
          "limit for sending email to external recipients", S.RCPT, PAUSED),
    (550, "5.2.251 Sender throttled due to continuous mailbox full errors.", S.MAIL, PAUSED),
    (550, "5.2.255 Sender throttled due to continuous invalid recipients errors.", S.DATA, PAUSED),
    (550, "5.4.5 Daily user sending quota exceeded. - gsmtp", S.DATA, PAUSED),  # Gmail
    (550, "5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
     S.RCPT, PAUSED),
    (550, "5.1.8 Access denied, bad outbound sender.", S.MAIL, PAUSED),
    (550, "5.7.620 Access denied, banned sending IP [192.0.2.10].", S.RCPT, PAUSED),
    # 552: transient at RCPT (RFC 5321 §4.5.3.1.10), the message at DATA.
    (552, "5.2.2 <bob@example.com>... Mailbox full", S.RCPT, R_TEMP),
    (552, "Requested mail action aborted: exceeded storage allocation", S.RCPT, R_TEMP),
    (552, "5.3.4 Message size exceeds fixed maximum message size", S.DATA, MSG),  # Postfix
    (552, "Message size exceeds fixed limit", S.DATA, MSG),
    (552, "5.2.2 The email account that you tried to reach is over quota.", S.DATA, R_TEMP),
    # Other 4xx at MAIL/RCPT/DATA: defer the recipient.
    (450, "4.2.0 <bob@example.com>: Recipient address rejected: Greylisted, see "
          "http://postgrey.schweikert.ch/help/example.com.html", S.RCPT, R_TEMP),
    (451, "4.7.1 Greylisting in action, please come back in 5 minutes", S.RCPT, R_TEMP),
    (450, "4.1.1 <bob@example.com>: Recipient address rejected: unverified address", S.RCPT,
     R_TEMP),
    (452, "4.2.2 The email account that you tried to reach is over quota.", S.RCPT, R_TEMP),
    (451, "4.3.0 Error: queue file write error", S.DATA, R_TEMP),
    (451, "4.3.0 <ann@contoso.com>: Temporary lookup failure", S.MAIL, R_TEMP),
    (450, "4.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
          "additional messages from being delivered.", S.RCPT, R_TEMP),  # Gmail: the mailbox's
    (451, "4.3.0 Could not generate the reply; try again later", S.RCPT, R_TEMP),  # not "rate"
    # 4xx while setting up the session: the relay's.
    (454, "4.7.0 TLS not available due to local problem", S.STARTTLS, RELAY_TEMP),
    (454, "4.7.0 Temporary authentication failure", S.AUTH, RELAY_TEMP),
    # 5xx before any recipient: the relay refuses us.
    (554, "5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org",
     S.CONNECT, PAUSED),
    (550, "5.7.1 Access denied", S.EHLO, PAUSED),
    (521, "5.3.2 mx.example.com does not accept mail", S.CONNECT, PAUSED),
    (550, "5.7.1 Sender rejected", S.MAIL, PAUSED),
    # Other 5xx at RCPT/DATA: the recipient fails.
    (550, "5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox "
          "table", S.RCPT, R_PERM),  # Postfix
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try "
          "double-checking the recipient's email address for typos - gsmtp", S.RCPT, R_PERM),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     S.RCPT, R_PERM),  # Exchange Online
    (550, "5.4.1 Recipient address rejected: Access denied. AS(201806281)", S.RCPT, R_PERM),
    (551, "5.1.6 User not local; please try <bob@elsewhere.example>", S.RCPT, R_PERM),
    (501, "5.1.3 Bad recipient address syntax", S.RCPT, R_PERM),
    (554, "5.7.1 <bob@example.org>: Relay access denied", S.RCPT, R_PERM),
    (550, "5.7.1 Unable to relay", S.RCPT, R_PERM),
    (554, "5.7.1 [P4] Message blocked due to spam content in the message.", S.DATA, R_PERM),
    (550, "Requested action not taken: mailbox unavailable", S.RCPT, R_PERM),
    # The message, not the address.
    (550, "5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail "
          "requires all senders to authenticate with either SPF or DKIM.", S.DATA, MSG),
    (550, "5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds", S.DATA, MSG),
    # How Rollcall speaks SMTP: every message would fail the same way.
    (500, "Line too long (see RFC5321 4.5.3.1.6)", S.DATA, PAUSED),  # aiosmtpd, bare LF (§7.1)
    (555, "RCPT TO parameters not recognized or not implemented", S.RCPT, PAUSED),  # aiosmtpd
    (503, "5.5.1 Error: need MAIL command", S.RCPT, PAUSED),
    (501, "5.5.4 Syntax error in parameters", S.DATA, PAUSED),
    # After the transaction: reconnect, nothing else.
    (421, "4.4.2 Timeout", S.QUIT, RELAY_TEMP),
    (500, "5.5.2 Unknown command", S.RSET, RELAY_TEMP),
    # Replies that are not replies.
    (600, "?", S.DATA, RELAY_TEMP),
    (199, "?", S.DATA, RELAY_TEMP),
    # Accepted.
    (220, "mx.example.com ESMTP Postfix", S.CONNECT, ACCEPTED),
    (250, "mx.example.com Hello", S.EHLO, ACCEPTED),
    (235, "2.7.0 Authentication successful", S.AUTH, ACCEPTED),
    (250, "2.1.5 Recipient OK", S.RCPT, ACCEPTED),
    (354, "Start mail input; end with <CRLF>.<CRLF>", S.DATA, ACCEPTED),
    (250, "2.0.0 Ok: queued as 4F2A1C0B7", S.DATA, ACCEPTED),
]


@pytest.mark.parametrize("code, text, stage, outcome", CASES,
                         ids=[f"{c}-{s}-{t[:30]}" for c, t, s, _ in CASES])
def test_real_replies_get_the_right_outcome(code, text, stage, outcome):
    got = verdict(code, text, stage)
    assert got.outcome is outcome
    assert got.meaning.strip() and not got.meaning.strip().isdigit()


def test_the_cases_cover_every_outcome_and_stage():
    assert {c[3] for c in CASES} == set(Outcome)
    assert {c[2] for c in CASES} == set(Stage)


@pytest.mark.parametrize("text", [
    "5.7.233 Your message can't be sent", "5.2.253 Sender throttled", "5.7.57 Client not "
    "authenticated", "5.7.30 Basic authentication", "5.7.60 SMTP; no Send As"])
@pytest.mark.parametrize("stage", [S.MAIL, S.RCPT, S.DATA])
@pytest.mark.parametrize("code", [550, 554])
def test_quota_and_config_codes_never_mark_the_recipient(code, text, stage):
    assert verdict(code, text, stage).outcome is PAUSED


@given(st.one_of(st.none(), st.integers(0, 999)), st.text(max_size=60), st.sampled_from(Stage))
def test_classify_always_answers_in_words(code, text, stage):
    got = verdict(code, text, stage)
    assert isinstance(got.outcome, Outcome)
    assert got.meaning.strip() and not got.meaning.strip().isdigit()
    assert got.retry_after_s is None or got.retry_after_s >= 0


@given(st.one_of(st.none(), st.integers(200, 599)), st.text(max_size=60),
       st.sampled_from([*SESSION, S.RSET, S.QUIT]))
def test_nothing_outside_mail_rcpt_data_marks_a_recipient(code, text, stage):
    assert verdict(code, text, stage).outcome in (ACCEPTED, RELAY_TEMP, PAUSED)


@given(st.integers(200, 399), st.text(max_size=60), st.sampled_from(Stage))
def test_positive_replies_are_accepted(code, text, stage):
    got = verdict(code, text, stage)
    assert got.outcome is ACCEPTED and got.retry_after_s is None


@given(st.text(max_size=60), st.sampled_from(Stage))
def test_421_and_no_reply_are_relay_transients_anywhere(text, stage):
    assert verdict(421, text, stage).outcome is RELAY_TEMP
    assert verdict(None, text, stage).outcome is RELAY_TEMP


@pytest.mark.parametrize("text, cause", [
    ("[Errno 111] Connection refused", "refused"),
    ("[Errno -2] Name or service not known", "host name"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "TLS"),
    ("timed out", "timed out"),
    ("Connection unexpectedly closed", "dropped"),
])
def test_connection_failures_say_what_went_wrong(text, cause):
    assert cause in verdict(None, text, S.CONNECT).meaning


def test_a_drop_during_data_warns_the_message_may_have_gone():
    assert "not confirmed" in verdict(None, "Connection reset by peer", S.DATA).meaning


def test_a_quota_reply_explains_the_quota_not_the_mailbox():
    said = verdict(554, "5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
                   S.DATA).meaning
    assert "quota" in said and said != ENHANCED["5.2.0"]


# --- Retry hints ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("4.7.1 Greylisted, please try again in 300 seconds", 300),
    ("4.7.1 Greylisting in action, please come back in 5 minutes", 300),
    ("4.3.0 Rate limited, retry in 30s", 30),
    ("4.7.0 try again after 2m", 120),
    ("4.7.0 Please wait 1 hour", 3600),
    ("4.7.0 wait 90 secs", 90),
    ("4.7.0 wait 1.5 mins", 90),
    ("4.3.2 back in 10 MINUTES", 600),
])
def test_retry_hints_are_read_in_seconds(text, seconds):
    assert retry_hint(text) == seconds
    assert verdict(451, text, S.RCPT).retry_after_s == seconds


@pytest.mark.parametrize("text", [
    "4.7.1 Try again later", "4.2.1 receiving mail at a rate that prevents",
    "2.6.0 <a@b> 12345 bytes in 0.123, 123.456 KB/sec Queued mail for delivery",
    "[BN1P110CA0052.NAMP110.PROD.OUTLOOK.COM 2023-11-29T14:52:57.126Z 08DBE7319275F6BA]",
    "4.5.3 Too many recipients (limit 50)", "Server 5m.example.com busy",
])
def test_text_without_a_wait_gives_no_hint(text):
    assert retry_hint(text) is None


def test_accepted_replies_carry_no_hint():
    assert verdict(250, "2.0.0 Ok, delivered in 5 seconds", S.DATA).retry_after_s is None


# --- Meanings ---------------------------------------------------------------------------------

REQUIRED_BASIC = {211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 432, 450, 451, 452, 454,
                  455, 500, 501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554,
                  555}
REQUIRED_ENHANCED = {
    "2.0.0", "2.1.0", "2.1.5", "2.6.0", "4.2.2", "4.3.1", "4.3.2", "4.4.1", "4.4.2", "4.4.7",
    "4.7.0", "4.7.1", "5.1.0", "5.1.1", "5.1.2", "5.1.3", "5.1.8", "5.1.10", "5.2.0", "5.2.1",
    "5.2.2", "5.2.3", "5.2.251", "5.2.252", "5.2.253", "5.2.254", "5.2.255", "5.3.4", "5.4.1",
    "5.4.4", "5.5.0", "5.7.0", "5.7.1", "5.7.3", "5.7.8", "5.7.26", "5.7.30", "5.7.54", "5.7.57",
    "5.7.60", "5.7.64", "5.7.68", "5.7.232", "5.7.233", "5.7.708"}


def plain(words: str) -> bool:
    """Words, not a bare number or code: at least three letters in a row, and a full stop."""
    return bool(re.search(r"[A-Za-z]{3}", words)) and words.rstrip().endswith(".")


def test_the_tables_cover_every_required_code():
    assert REQUIRED_BASIC <= set(BASIC)
    assert REQUIRED_ENHANCED <= set(ENHANCED)


@pytest.mark.parametrize("code", sorted(BASIC))
def test_every_basic_code_has_plain_words(code):
    said = meaning(code, None)
    assert said == BASIC[code] and plain(said) and str(code) not in said


@pytest.mark.parametrize("enhanced", sorted(ENHANCED))
def test_every_enhanced_code_has_plain_words_and_wins_over_the_basic_code(enhanced):
    code = {"2": 250, "4": 450, "5": 550}[enhanced[0]]
    said = meaning(code, enhanced, S.RCPT)
    assert said == ENHANCED[enhanced] and plain(said) and enhanced not in said


def test_enhanced_meanings_differ_from_one_another_where_it_matters():
    assert meaning(550, "5.1.1") != meaning(550, "5.1.10") != meaning(550, "5.7.1")
    assert meaning(550, "5.1.1") != meaning(550, None)


@pytest.mark.parametrize("code, enhanced, words", [
    (550, "5.1.99", ("permanent", "address")),
    (450, "4.2.99", ("temporary", "mailbox")),
    (554, "5.6.99", ("permanent", "content")),
    (451, "4.4.99", ("temporary", "network")),
    (550, "5.7.999", ("permanent", "policy")),
    (550, "5.3.77", ("permanent", "mail system")),
    (550, "5.5.9", ("permanent", "SMTP")),
    (550, "5.0.1", ("permanent", "did not specify")),
])
def test_unknown_enhanced_codes_fall_back_to_class_and_subject(code, enhanced, words):
    said = meaning(code, enhanced)
    assert all(w in said.lower() or w in said for w in words), said
    assert said != BASIC[code] and plain(said)


@pytest.mark.parametrize("enhanced", ["5.9.1", "5.1", "junk", "", "3.1.1"])
def test_unusable_enhanced_codes_fall_back_to_the_basic_code(enhanced):
    assert meaning(550, enhanced) == BASIC[550]


def test_successful_unknown_enhanced_codes_read_as_accepted():
    assert meaning(250, "2.1.99").startswith("Accepted")


@pytest.mark.parametrize("enhanced, word", [("5.7.606", "banned"), ("5.7.649", "banned"),
                                            ("4.7.650", "restricted"), ("4.7.899", "restricted")])
def test_exchange_online_code_ranges_have_meanings(enhanced, word):
    assert word in meaning(550 if enhanced[0] == "5" else 451, enhanced)


def test_the_stage_changes_what_552_means():
    at_rcpt, at_data = meaning(552, None, S.RCPT), meaning(552, None, S.DATA)
    assert at_rcpt != at_data and "temporary" in at_rcpt and "larger" in at_data
    assert meaning(552, None) == BASIC[552]


def test_no_reply_reads_by_stage():
    said = {stage: meaning(None, None, stage) for stage in Stage}
    assert len(set(said.values())) == len(Stage)
    assert "connecting" in said[S.CONNECT] and "signing in" in said[S.AUTH]
    assert all(plain(s) for s in said.values())
    assert plain(meaning(None, None))


@pytest.mark.parametrize("code, word", [(299, "Accepted"), (399, "waiting"), (499, "temporary"),
                                        (599, "permanent"), (799, "does not recognise")])
def test_unknown_basic_codes_still_get_words(code, word):
    said = meaning(code, None)
    assert word in said and plain(said)


@given(st.one_of(st.none(), st.integers(0, 999)),
       st.one_of(st.none(), st.text(max_size=12),
                 st.builds("{}.{}.{}".format, st.sampled_from("245"), st.integers(0, 999),
                           st.integers(0, 999))),
       st.one_of(st.none(), st.sampled_from(Stage)))
def test_meaning_is_never_empty_nor_just_a_number(code, enhanced, stage):
    assert plain(meaning(code, enhanced, stage))


# --- Queue ids --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2.0.0 Ok: queued as 4F2A1C0B7", "4F2A1C0B7"),  # Postfix
    ("2.0.0 Ok: queued as 4Ygkw41BKgz9sWN", "4Ygkw41BKgz9sWN"),  # Postfix long ids
    ("OK id=1abcDE-000123-AB", "1abcDE-000123-AB"),  # Exim
    ("OK id=1rB4Zq-0000000AbC-2ZxY", "1rB4Zq-0000000AbC-2ZxY"),  # Exim 4.97 ids
    ("2.0.0 v8C5U2fA002539 Message accepted for delivery", "v8C5U2fA002539"),  # Sendmail
    ("2.6.0 <1f2e@EX01.contoso.local> [InternalId=12884901890, Hostname=EX01.contoso.local] "
     "4235 bytes in 0.071, 57.952 KB/sec Queued mail for delivery", "12884901890"),  # Exchange
    ("2.6.0 <CY4PR01MB1234@CY4PR01MB1234.prod.exchangelabs.com> [Hostname=CY4PR01MB1234."
     "prod.exchangelabs.com] Queued mail for delivery -> 250 2.1.5",
     "<CY4PR01MB1234@CY4PR01MB1234.prod.exchangelabs.com>"),  # Microsoft 365
    ("<4798911130a2069f@www.example.com> Queued mail for delivery",
     "<4798911130a2069f@www.example.com>"),
    ("2.0.0 OK  1376056636 i3si9508927obz.16 - gsmtp", "i3si9508927obz.16"),  # Gmail
    ("2.0.0 Ok: queued as 9B3C21E04\nsecond line", "9B3C21E04"),
])
def test_queue_id_per_relay(text, expected):
    assert queue_id(text) == expected


@pytest.mark.parametrize("text", [
    "OK", "Ok", "2.0.0 Ok", "", "2.0.0 Message accepted for delivery", "2.0.0 Ok: queued",
    "Requested mail action okay, completed", "2.6.0 Queued mail for delivery",
    "2.0.0 OK <not-an-id> done",
    "2.0.0 Ok Message accepted for delivery",  # a word, not a Sendmail queue id
])
def test_unknown_formats_give_no_queue_id(text):
    assert queue_id(text) is None
