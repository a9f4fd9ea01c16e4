"""`rollcall demo`: the EWS simulator's demo organisation in this process, the development
issuer signing in its people, and `rollcall serve` counting against it."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rollcall.config import load_config
from rollcall.manifest import PLACEHOLDER_CLIENT_ID

from . import certs as devcert
from .issuer import PATH, DevIssuer, NotLoopback, require_loopback
from .serve import serve, server_certificate

DEMO_ADMINS = frozenset({"isaiah@contoso.com"})  # the demo organisation's Exchange administrator
DEMO_DOMAINS = ("contoso.com",)
SLOW_PAST_DEADLINE_S = 5.0  # `--faults slow`: answers this long after a count's deadline


# The demo's relay: fast enough to watch a send finish; one partner domain greylists once (a
# deferred recipient arriving on retry) and another's addresses do not exist (bounce-backs).
DEMO_RELAY_RULES = "greylist:*@fabrikam.com,bounce:*@tailspintoys.example"
# A send of External Partners (14) judges its bounce rate from 10 copies on, not 50.
DEMO_SENDING = {"send_rate_per_minute": 600, "send_rate_per_hour": 20000,
                "send_retry_s": (10, 30, 60), "bounce_address": "bounces+{token}@contoso.com",
                "bounce_min_sample": 10}
DEMO_BOUNCE_DELAY_S = 2.0  # a remote server's bounce takes a moment to come back


def demo(host: str, port: int, ews_port: int, ews_auth: str = "basic", faults: str = "",
         relay_rules: str = DEMO_RELAY_RULES, directory: str = "ews") -> int:
    """The EWS simulator's demo organisation in this process, and Rollcall counting against it:
    through the service account (basic), or with `ews_auth="oauth"` on behalf of each person;
    with `directory="graph"` the Graph simulator serves it and Rollcall reads it through
    Microsoft Graph on behalf of each person. `faults` is the simulator's fault spec
    (ews_simulator/faults.py: drop, busy=3, 503, slow; graph_simulator: throttle=3, ...)."""
    from ews_simulator import load
    from ews_simulator.demo import DEMO_PASSWORD, demo_document
    from ews_simulator.faults import FaultSpecError, parse_faults

    try:
        require_loopback(host)
    except NotLoopback as e:
        print(f"rollcall: demo: {e}", file=sys.stderr)
        return 2
    settings = load_config(mailbox="megan@contoso.com", internal_domains=("contoso.com",))
    slow_ms = (settings.count.deadline_s + SLOW_PAST_DEADLINE_S) * 1000
    try:
        if directory == "ews":
            parse_faults(faults, slow_ms)  # said before anything starts
    except FaultSpecError as e:
        print(f"rollcall: demo: --faults {e}", file=sys.stderr)
        return 2
    from rollcall.sending.bounce_listener import BounceListener
    from smtp_simulator import RuleSpecError, SmtpSimulator

    # Rollcall's bounce listener, over real SMTP: the relay returns its DSNs there. Both
    # relays take mail from contoso.com's senders only, as a real one must: Server
    # information's open-relay check finds them closed.
    bounces = BounceListener(None, "127.0.0.1", 0, hostname="bounces.contoso.com").start()
    try:
        relay = SmtpSimulator(rules=relay_rules, relay_domains=DEMO_DOMAINS, spool_dir=Path(
            settings.store.instance_path) / "demo-relay",
            bounce_to=("127.0.0.1", bounces.port), bounce_delay_s=DEMO_BOUNCE_DELAY_S)
    except RuleSpecError as e:
        bounces.stop()
        print(f"rollcall: demo: --relay-rules {e}", file=sys.stderr)
        return 2
    fallback = SmtpSimulator(relay_domains=DEMO_DOMAINS, hostname="fallback.simulator.test",
                             spool_dir=Path(settings.store.instance_path) / "demo-fallback")
    org = load(demo_document())
    base = f"https://{_url_host(host)}:{port}"
    instance = Path(settings.store.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # people's addresses, keys
    issuer = demo_issuer(instance / "dev-issuer", base, people(org.mailboxes.values()))
    ca = instance / "certs" / devcert.CA_NAME
    if directory == "graph":
        from .demo_graph import banner_lines, demo_graph

        sim, exchange = demo_graph(org, issuer, ews_port, instance / "graph-simulator")
        try:
            sim.apply_faults(faults)
        except ValueError as e:
            sim.stop()
            bounces.stop()
            print(f"rollcall: demo: --faults {e}", file=sys.stderr)
            return 2
        print(f"Graph simulator (demo organisation) listening on {sim.url}", flush=True)
    else:
        sim, exchange = _demo_exchange(org, issuer, ews_port, instance / "certs", host,
                                       oauth=ews_auth == "oauth")
        sim.slow_ms = slow_ms
        sim.apply_faults(faults)
        print(f"EWS simulator (demo organisation) listening on {sim.url}", flush=True)
    # with_settings(), not overrides: a ROLLCALL_OIDC_* in the developer's environment must not
    # mix a real identity provider's settings into the demo's.
    relay.start()
    fallback.start()
    print(f"SMTP simulators (the demo's relays) listening on {relay.url} and {fallback.url} "
          "(fallback)", flush=True)
    config = settings.with_settings(**exchange, **dev_identity(issuer, ca), smtp_url=relay.url,
                                    smtp_fallback_url=fallback.url, **DEMO_SENDING)
    if ews_auth == "oauth":
        config = config.with_settings(oidc_client_id=issuer.client_id,
                                      oidc_client_secret=issuer.client_secret)

    ca_line = f"ROLLCALL_EWS_CA_FILE={ca} " if ews_auth == "oauth" else ""
    acting = ("on behalf of each person: their token is traded at the\n"
              "development issuer for an Exchange one (ROLLCALL_EWS_AUTH=oauth)"
              if ews_auth == "oauth" else "through the service account, impersonating each person")
    if directory == "graph":
        acting = ("Online through Microsoft Graph, on behalf of each person: their\n"
                  "token is traded at the simulator's authority for a Graph one "
                  "(ROLLCALL_GRAPH_AUTH=obo)")
    shell = (banner_lines(sim) if directory == "graph" else
             "From a shell, while this runs (the command line uses the service account):\n"
             f"  {ca_line}ROLLCALL_EWS_URL={sim.url} \\\n"
             "  ROLLCALL_EWS_USERNAME=svc-rollcall@contoso.com "
             f"ROLLCALL_EWS_PASSWORD='{DEMO_PASSWORD}' \\\n"
             "  ROLLCALL_MAILBOX=megan@contoso.com ROLLCALL_INTERNAL_DOMAINS=contoso.com \\\n"
             "  ROLLCALL_INSTANCE_PATH=instance/cli \\\n"
             "  .venv/bin/rollcall count allstaff@contoso.com leadership@contoso.com \\\n"
             "    'Comms Champions' --expected 500\n"
             f"{_faults_lines(sim, ca if ews_auth == 'oauth' else None)}")
    banner = (
        f"\nOpen https://{host}:{port}/ and paste allstaff@contoso.com (or Comms Champions,\n"
        "leadership@contoso.com, partners@contoso.com) to count as megan@contoso.com;\n"
        f"https://{host}:{port}/?as=alex@contoso.com signs in as Alex instead (the development\n"
        f"issuer at {issuer.issuer} signs in the demo's people, and only on this machine).\n"
        f"Rollcall acts in Exchange {acting}.\n"
        f"{shell}"
        f"{_relay_lines(relay, fallback, instance, base + '/', relay_rules, bounces.url)}"
        f"Sideload manifest.xml in Outlook (first trust the development CA, {ca}):\n"
        "  Outlook on the web / new Outlook: new message > Apps > Add apps (or Get Add-ins) >\n"
        "    My add-ins > Add a custom add-in > Add from File... > manifest.xml\n"
        "  Classic Outlook (Windows/Mac): File > Manage Add-ins (or Get Add-ins) > My add-ins >\n"
        "    Add a custom add-in > Add from File... > manifest.xml; then restart Outlook.\n"
        "  Then on a new message: Get Recipient Count (on the ribbon, or under Apps).\n"
        "Ctrl-C stops."
    )
    try:
        # The app's own services take the bounces: one store in this process, not two.
        return serve(config, host, port, banner, dev_issuer=issuer,
                     started=lambda app: setattr(bounces, "intake",
                                                 app.extensions["rollcall"].bounces))
    finally:
        relay.stop()
        fallback.stop()
        bounces.stop()
        sim.stop()


def _relay_lines(relay: Any, fallback: Any, instance: Path, pane: str, rules: str,
                 bounces_url: str) -> str:
    """The banner's lines on tracked send through the demo's relays."""
    return ("Tracked send: after a count, Send tracked (or Send a test to myself) sends one\n"
            f"copy per person through the SMTP simulator at {relay.url} (fallback\n"
            f"{fallback.url}); it keeps what it accepted in {instance / 'demo-relay'}/ and\n"
            f"answers by its rules ({rules or 'none'}); bounce-backs come back to\n"
            f"Rollcall's bounce listener on {bounces_url}. Each recipient's record (Message-ID,\n"
            "the relay's queue id, its reply and meaning), and the SMTP service as an\n"
            "administrator sees it:\n"
            f"  ROLLCALL_INSTANCE_PATH={instance} .venv/bin/rollcall send list\n"
            f"  ROLLCALL_INSTANCE_PATH={instance} .venv/bin/rollcall send recipients ID\n"
            f"  ROLLCALL_INSTANCE_PATH={instance} ROLLCALL_SMTP_URL={relay.url} \\\n"
            f"  ROLLCALL_SMTP_FALLBACK_URL={fallback.url} \\\n"
            f"  ROLLCALL_BOUNCE_ADDRESS='{DEMO_SENDING['bounce_address']}' "
            f"ROLLCALL_SEND_RATE_PER_MINUTE={DEMO_SENDING['send_rate_per_minute']} "
            f"ROLLCALL_SEND_RATE_PER_HOUR={DEMO_SENDING['send_rate_per_hour']} "
            f"ROLLCALL_BOUNCE_MIN_SAMPLE={DEMO_SENDING['bounce_min_sample']} \\\n"
            "  .venv/bin/rollcall queue status\n"
            "  (with the same settings: rollcall smtp test [--fallback], rollcall trace QUEUE-ID,\n"
            "  rollcall bounces list)\n"
            f"Server information (queue, STOP/START/EMPTY, relay tests, trace) is for Rollcall's\n"
            f"administrators: {pane}?as=isaiah@contoso.com, then Server information.\n")


def _faults_lines(sim: Any, ca: Path | None) -> str:
    """The banner's lines on Exchange faults: those in force, and how to switch them."""
    from ews_simulator.faults import describe

    control = sim.url.split("/EWS/")[0] + "/_simulator/faults"
    curl = f"curl --cacert {ca}" if ca else "curl"
    now = describe(sim.faults)
    return ((f"Exchange misbehaves on purpose: {now} (rollcall demo --faults).\n"
             if now != "off" else "")
            + "Make Exchange misbehave while this runs, or calm it (from this machine only):\n"
            f"  {curl} -X PUT -d busy=3 {control}   (drop, busy, 503, slow; =N every Nth)\n"
            f"  {curl} -X DELETE {control}\n")


def _demo_exchange(org: Any, issuer: DevIssuer, ews_port: int, certs: Path, host: str,
                   oauth: bool) -> tuple[Any, dict[str, Any]]:
    """The simulator started, and Rollcall's settings for it. For OAuth it serves HTTPS with the
    development certificate (tokens never travel over plain HTTP) and trusts the dev issuer."""
    from ews_simulator import BearerTrust, Simulator
    from ews_simulator.demo import DEMO_PASSWORD

    if not oauth:
        sim = Simulator(org, port=ews_port).start()
        return sim, {"ews_url": sim.url, "ews_username": "svc-rollcall@contoso.com",
                     "ews_password": DEMO_PASSWORD}
    cert, key = server_certificate(certs, host)  # the same one Rollcall serves with
    sim = Simulator(org, port=ews_port, tls=(cert, key),
                    bearer=BearerTrust(issuer.issuer, issuer.jwks_url)).start()
    # The simulator plays Exchange Online: tokens for outlook.office365.com.
    return sim, {"ews_url": sim.url, "ews_auth": "oauth",
                 "ews_ca_file": str(certs / devcert.CA_NAME),
                 "ews_oauth_scope": "https://outlook.office365.com/EWS.AccessAsUser.All"}


def people(mailboxes: Iterable[Any]) -> dict[str, str]:
    """Address -> name of a simulated organisation's people (not its service accounts)."""
    return {m.address.lower(): m.obj.name for m in mailboxes if not m.can_impersonate}


def demo_issuer(folder: Path, base: str, users: dict[str, str],
                client_id: str | None = None) -> DevIssuer:
    """The development issuer at BASE/dev-issuer, for an API whose audience is api://HOST/ID."""
    host = base.split("://", 1)[1]
    audience = f"api://{host}/{client_id or PLACEHOLDER_CLIENT_ID}"
    return DevIssuer(folder, base + PATH, audience, users, admins=DEMO_ADMINS)


def dev_identity(issuer: DevIssuer, ca_file: Path | None = None,
                 jwks_file: bool = False) -> dict[str, Any]:
    """Settings that make Rollcall trust `issuer` exactly as it would trust Entra ID: discovery
    over HTTPS (the dev CA trusted), or with `jwks_file` the JWKS file it wrote (tests)."""
    return {"oidc_issuer": issuer.issuer, "oidc_audience": (issuer.audience,),
            "oidc_jwks_url": issuer.jwks_url if jwks_file else None,
            "oidc_ca_file": str(ca_file) if ca_file else None}


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
