"""kzlink over real TLS on loopback, for the https end-to-end tests.

Over plain http Pyramid skips its CSRF origin check, so only a browser talking
https to kzlink shows what production does with the ``Origin`` of each post.
This module makes a throwaway certificate authority and a server certificate
for both test sites (``127.0.0.1`` for the partner, ``localhost`` for the
widget), and serves a WSGI application with them.

The server is stdlib ``wsgiref`` with a thread per connection: during a
request kzlink calls its own simulator on the same server, so one connection
must never wait for another.
"""

import datetime
import ipaddress
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"
# A connection left idle this long (a browser's speculative one) is dropped, so
# that its thread ends.
IDLE_TIMEOUT_S = 30


@dataclass(frozen=True)
class Certificates:
    """PEM files: the authority that clients trust, the server's chain and key."""

    authority: Path
    chain: Path
    key: Path


def issue_certificates(directory: Path) -> Certificates:
    """A new authority, and a server certificate it signed for both sites."""
    now = datetime.datetime.now(datetime.UTC)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = _name("kzlink e2e test authority")
    authority = (
        _builder(authority_name, authority_name, authority_key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .sign(authority_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    sites = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    )
    authority_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(
        authority_key.public_key()
    )
    server = (
        _builder(_name("localhost"), authority_name, server_key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(sites, critical=False)
        .add_extension(authority_id, critical=False)
        .sign(authority_key, hashes.SHA256())
    )

    files = Certificates(
        authority=directory / "authority.pem",
        chain=directory / "server-chain.pem",
        key=directory / "server-key.pem",
    )
    files.authority.write_bytes(_pem(authority))
    files.chain.write_bytes(_pem(server) + _pem(authority))
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject, issuer, key, now) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A margin either side, against clocks that disagree by a little.
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
    )


def _key_usage(signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class _Handler(WSGIRequestHandler):
    timeout = IDLE_TIMEOUT_S

    def get_environ(self):
        environ = super().get_environ()
        # wsgiref derives wsgi.url_scheme from this CGI variable.
        environ["HTTPS"] = "on"
        return environ

    def log_message(self, format, *args):
        # One line per request on stderr would bury a failure's own output.
        pass


class TlsServer(ThreadingMixIn, WSGIServer):
    """A WSGI server on ``127.0.0.1``, TLS on every connection, a thread each.

    It listens on a free port at once; the application, which may need to know
    that port, comes later (``set_app``), before ``start``."""

    daemon_threads = True

    def __init__(self, certificates: Certificates):
        super().__init__((HOST, 0), _Handler)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certificates.chain, certificates.key)
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="e2e-tls",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self.server_address[1]

    def get_request(self):
        connection, address = self.socket.accept()
        # The handshake waits for the client: let the connection's own thread
        # do it, never the one accepting every connection.
        wrapped = self.tls.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request, client_address):
        request.settimeout(IDLE_TIMEOUT_S)
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # A browser drops connections it opened on speculation, or hangs up
        # mid-handshake: noise. Anything else is printed as usual.
        error = sys.exc_info()[1]
        if isinstance(error, ssl.SSLError | ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
