"""`rollcall demo --directory graph`: the same demo organisation served by the Graph simulator
(HTTPS, its own OpenID token endpoint), Rollcall reading it through Microsoft Graph on behalf
of each person signed in by the development issuer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .issuer import DevIssuer


def demo_graph(org: Any, issuer: DevIssuer, port: int, folder: Path) -> tuple[Any, dict[str, Any]]:
    """The Graph simulator started, trusting the development issuer's tokens as assertions for
    on-behalf-of, and Rollcall's settings for it."""
    from graph_simulator import GraphSimulator

    sim = GraphSimulator(org, port=port, cert_dir=folder,
                         assertion_issuer=issuer.issuer, assertion_jwks=issuer.jwks_url,
                         assertion_audiences=(issuer.audience,)).start()
    return sim, graph_settings(sim, auth="obo")


def graph_settings(sim: Any, auth: str) -> dict[str, Any]:
    """ROLLCALL_* settings (as with_settings names them) for a running Graph simulator."""
    return {"directory": "graph", "graph_url": sim.url, "graph_authority": sim.authority,
            "graph_client_id": sim.client_id, "graph_client_secret": sim.client_secret,
            "graph_ca_file": str(sim.ca_file), "graph_exchange_url": sim.exchange_url,
            "graph_auth": auth}


def banner_lines(sim: Any) -> str:
    """How to count from a shell against the simulator (the command line acts with Rollcall's
    own client credentials for ROLLCALL_MAILBOX), and how to make Graph misbehave."""
    settings = graph_settings(sim, auth="app")
    env = " \\\n  ".join(f"ROLLCALL_{k.upper()}={v}" for k, v in settings.items()
                         if k != "graph_auth")
    control = f"{sim.url}/_simulator/faults"
    return (
        "From a shell, while this runs (the command line acts with Rollcall's own app\n"
        "permissions, ROLLCALL_GRAPH_AUTH=app, for ROLLCALL_MAILBOX):\n"
        f"  {env} \\\n"
        "  ROLLCALL_MAILBOX=megan@contoso.com ROLLCALL_INTERNAL_DOMAINS=contoso.com \\\n"
        "  ROLLCALL_INSTANCE_PATH=instance/cli \\\n"
        "  .venv/bin/rollcall count allstaff@contoso.com sales-dynamic@contoso.com \\\n"
        "    'Comms Champions' --expected 500\n"
        "Make Microsoft Graph misbehave while this runs, or calm it (from this machine only):\n"
        f"  curl --cacert {sim.ca_file} -X PUT -d throttle=3 {control}\n"
        f"  curl --cacert {sim.ca_file} -X DELETE {control}\n")
