"""A development certificate authority and a localhost certificate, made on first run.

Outlook only loads add-ins over HTTPS it trusts; trusting one local CA (printed instructions)
covers every certificate it signs. Production uses real certificates (README, "Deployment").
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "rollcall-dev-ca.pem"


def ensure(folder: Path, hosts: tuple[str, ...]) -> tuple[Path, Path, bool]:
    """(certificate, key, created): reuses what `folder` holds, else makes a CA and a leaf."""
    cert_path, key_path = folder / "localhost.pem", folder / "localhost-key.pem"
    ca_path = folder / CA_NAME
    if cert_path.exists() and key_path.exists() and ca_path.exists():
        return cert_path, key_path, False
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rollcall development CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key, now, days=825)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                       critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    leaf = (
        _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]), ca_name,
                 key, now, days=397)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    pem = serialization.Encoding.PEM
    cert_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    ca_path.write_bytes(ca.public_bytes(pem))
    return cert_path, key_path, True


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey,
             now: datetime.datetime, days: int) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def trust_instructions(ca: Path) -> str:
    return (
        f"A development certificate authority was created: {ca}\n"
        "Trust it once so browsers and Outlook accept https://localhost:\n"
        f"  Windows: certutil -user -addstore Root \"{ca}\"\n"
        f"  macOS:   sudo security add-trusted-cert -d -r trustRoot "
        f"-k /Library/Keychains/System.keychain \"{ca}\"\n"
        f"  Linux:   sudo cp \"{ca}\" /usr/local/share/ca-certificates/rollcall-dev-ca.crt "
        "&& sudo update-ca-certificates"
    )
