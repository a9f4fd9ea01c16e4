"""A stand-alone Microsoft Graph simulator for Rollcall's demo, tests and benchmarks.

It serves the EWS simulator's organisation files as Entra ID and Exchange Online show them over
Graph: an OpenID token endpoint (client credentials, on-behalf-of), users, groups, orgContacts,
members and transitiveMembers, $batch, MailTips, contact groups, the Exchange Online admin API's
member cmdlets, and injected faults. The contract is notes/graph-sim-spec.md. It never imports
`rollcall`.
"""

from .assertions import AssertionTrust
from .directory import graph_id
from .faults import FaultSpecError, GraphFaults, parse_faults
from .server import GraphSimulator

__all__ = ["AssertionTrust", "FaultSpecError", "GraphFaults", "GraphSimulator", "graph_id",
           "parse_faults"]
