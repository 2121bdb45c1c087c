"""https: the socket goes to the checked IP, the TLS name and certificate check use the
host name (httpcore's ``sni_hostname``). Certificates are made here with a private CA."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from countersign.outbound import OutboundClient, OutboundError, OutboundPolicy

from .receiver import Receiver

PRIVATE_OK = OutboundPolicy(allow_private_network=True, timeout_seconds=5)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(dns_name: str, tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for ``dns_name``, client context trusting its CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test CA"))
        .issuer_name(_name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / f"{dns_name}.pem", tmp / f"{dns_name}.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


def _get(url: str, trust: ssl.SSLContext) -> int:
    async def main() -> int:
        async with OutboundClient(verify=trust) as outbound:
            return (await outbound.request("GET", url, policy=PRIVATE_OK)).status

    return asyncio.run(main())


def test_certificate_is_checked_for_the_host_name(tmp_path: Path) -> None:
    server, trust = _issue("localhost", tmp_path)
    with Receiver(tls=server) as receiver:
        # Connected to 127.0.0.1; a check against that address would fail (the
        # certificate names only "localhost"), so this passing shows the name was used.
        assert _get(receiver.url(host="localhost"), trust) == 200
        assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


def test_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    server, trust = _issue("other.example", tmp_path)
    with Receiver(tls=server) as receiver:
        with pytest.raises(OutboundError) as caught:
            _get(receiver.url(host="localhost"), trust)
        assert caught.value.code == "connect_failed"
        assert receiver.received == []
