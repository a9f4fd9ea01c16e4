"""Talking to relays: STARTTLS with the certificate checked, AUTH, STARTTLS insisted on,
credentials refused, quota and throttling (the relay rests and nobody is charged), a dropped
connection, a recipient refused until its time runs out, and DKIM signatures that verify."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from send_support import create, drain, records, relay_health, run_for, show

from ews_simulator.tls import self_signed
from rollcall.sending.model import State
from smtp_simulator import Rule, SmtpSimulator

PARTNERS = 14


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "relay-cert", "127.0.0.1")


def test_starttls_with_the_certificate_checked_and_auth(sending, certificate):
    cert, key = certificate
    with SmtpSimulator(tls=certificate, require_tls=True, auth=("svc-rollcall", "s3cret")) as tls:
        services = sending(smtp_url=f"{tls.url}?starttls=required", smtp_ca_file=str(cert),
                           smtp_username="svc-rollcall", smtp_password="s3cret")
        send = create(services, "partners@contoso.com")
        drain(services)
        assert show(services, send.id).counts[State.SENT] == PARTNERS
        assert len(tls.accepted) == PARTNERS


def test_a_certificate_nobody_vouches_for_stops_the_relay_not_the_people(sending, certificate):
    with SmtpSimulator(tls=certificate, require_tls=True) as tls:
        services = sending(smtp_url=tls.url)  # the system's CAs: the self-signed one fails
        send = create(services, "partners@contoso.com")
        run_for(services, 1.5)
        assert tls.accepted == []
        health = relay_health(services)
        assert health.state == "circuit_open" and "certificate" in (health.last_error or "")
        assert all(r.attempts == 0 for r in records(services, send.id).values())


def test_starttls_required_refuses_a_relay_that_does_not_offer_it(sending, relay):
    services = sending(smtp_url=f"{relay.url}?starttls=required")
    create(services, "partners@contoso.com")
    run_for(services, 1.5)
    assert relay.accepted == []
    assert "STARTTLS" in (relay_health(services).last_error or "")


def test_refused_credentials_pause_the_relay_and_say_so(sending):
    with SmtpSimulator(auth=("svc-rollcall", "right")) as strict:
        services = sending(smtp_url=strict.url, smtp_username="svc-rollcall",
                           smtp_password="wrong")
        send = create(services, "partners@contoso.com")
        run_for(services, 1.5)
        health = relay_health(services)
        assert health.state == "paused" and "535" in (health.last_error or "")
        assert "signing in" in (health.reason or "").lower()  # the meaning, in words
        assert all(r.attempts == 0 and r.state is State.QUEUED
                   for r in records(services, send.id).values())


def test_a_quota_refusal_pauses_the_relay_without_failing_anyone(sending, relay):
    relay.set_rules([Rule("*", "quota")])
    services = sending()
    send = create(services, "partners@contoso.com")
    run_for(services, 1.5)
    health = relay_health(services)
    assert health.state == "paused" and "5.2.0" in (health.last_error or "")
    assert all(r.state is not State.FAILED and r.attempts == 0
               for r in records(services, send.id).values())


def test_throttling_rests_the_relay_and_charges_nobody(sending, relay):
    relay.set_rules([Rule("*", "throttle")])
    services = sending()
    send = create(services, "partners@contoso.com")
    run_for(services, 1.5)
    health = relay_health(services)
    assert health.state == "circuit_open" and "421" in (health.last_error or "")
    assert all(r.attempts == 0 for r in records(services, send.id).values())


def test_a_connection_dropped_at_one_recipient_defers_only_them(sending, relay):
    victim = "ana.trujillo@fabrikam.com"
    relay.set_rules([Rule(victim, "drop", times=1)])
    services = sending()
    send = create(services, "partners@contoso.com")
    drain(services)
    found = records(services, send.id)
    assert found[victim].state is State.SENT and found[victim].attempts == 2
    assert all(r.attempts == 1 for a, r in found.items() if a != victim)


def test_a_recipient_refused_past_the_expiry_fails_with_the_last_reply(sending, relay):
    relay.set_rules([Rule("*@fabrikam.com", "defer")])
    services = sending(send_retry_s=(0.5,), send_expire_s=2.0)
    send = create(services, "partners@contoso.com")
    drain(services, timeout_s=60)
    refused = [r for a, r in records(services, send.id).items() if a.endswith("@fabrikam.com")]
    assert refused and all(r.state is State.FAILED and r.code == 452 for r in refused)
    assert all("Gave up" in (r.meaning or "") and r.attempts >= 2 for r in refused)


def test_dkim_signatures_cover_the_unsubscribe_headers_and_verify(sending, relay, tmp_path):
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    services = sending(dkim_domain="contoso.com", dkim_selector="rollcall",
                       dkim_key_file=str(key_file))
    create(services, "partners@contoso.com")
    drain(services)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"rollcall._domainkey.contoso.com."
        return record

    for accepted in relay.accepted:
        assert dkim.verify(accepted.data, dnsfunc=dns)
        message = email.message_from_bytes(accepted.data, policy=email.policy.SMTP)
        signed = message["DKIM-Signature"].replace("\r\n", "").replace(" ", "")
        assert "list-unsubscribe:list-unsubscribe-post" in signed.lower()
    tampered = relay.accepted[0].data.replace(b"Quarterly update", b"Quarterly updatE")
    assert not dkim.verify(tampered, dnsfunc=dns)
