"""A stand-alone Exchange Web Services (EWS) simulator for Rollcall's demo, tests and benchmarks.

It answers exchangelib over real HTTP the way Exchange 2016/2019 does, for an organisation loaded
from a YAML or JSON file. It never imports `rollcall`.
"""

from .oauth import BearerTrust, BearerVerifier, InvalidBearer
from .org import Organisation, OrgError, load
from .server import Simulator

__all__ = [
    "BearerTrust",
    "BearerVerifier",
    "InvalidBearer",
    "OrgError",
    "Organisation",
    "Simulator",
    "load",
]
