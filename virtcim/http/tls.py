"""TLS for the HTTPS listener, and self-signed certificates for first installs and tests."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

from virtcim.config import ConfigError

CERT_NAME = "server.pem"
KEY_NAME = "server.key"

_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


#: TLS 1.2 cipher suites: forward secrecy and authenticated encryption only. (TLS 1.3's are
#: all of that kind.)
MODERN_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20"


def server_context(
    cert: Path, key: Path | None = None, client_ca: Path | None = None
) -> ssl.SSLContext:
    """A server-side context with TLS 1.2 or later and modern ciphers, loaded from PEM files.

    ``key`` may be ``None`` when ``cert`` holds the private key too. With
    ``client_ca``, clients may present a certificate that CA signed, and
    :func:`certificate_user` names them by it. Problems with the files raise
    :class:`ConfigError` naming them, at start-up.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(MODERN_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (ssl.SSLError, OSError) as error:
            raise ConfigError(f"TLS: cannot load client CA {client_ca}: {error}") from error
        context.verify_mode = ssl.CERT_OPTIONAL
    try:
        context.load_cert_chain(certfile=cert, keyfile=key)
    except FileNotFoundError as error:
        raise ConfigError(f"TLS: {error.filename or cert} does not exist") from error
    except PermissionError as error:
        raise ConfigError(f"TLS: no permission to read {error.filename or cert}") from error
    except (ssl.SSLError, OSError) as error:
        raise ConfigError(
            f"TLS: cannot load certificate {cert} with key {key or cert}: {error}"
        ) from error
    return context


def listener_context(ca: Path | None = None) -> ssl.SSLContext:
    """The client-side context of deliveries to HTTPS listeners.

    A listener's certificate must chain to ``ca`` (PEM; the listeners' own CA
    or their self-signed certificates) or, without it, to the system's
    trusted CAs, and name the host of the destination URL: an indication
    goes to no listener that cannot prove it is the one subscribed.
    Problems with ``ca`` raise :class:`ConfigError` at start-up.
    """
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    except (ssl.SSLError, OSError) as error:
        raise ConfigError(f"TLS: cannot load listener CA {ca}: {error}") from error
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def certificate_user(peercert: dict[str, Any] | None) -> str | None:
    """The user a verified client certificate names: its subject's common name."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName" and value:
                return str(value)
    return None


def make_self_signed(out_dir: Path, host: str | None = None, days: int = 825) -> tuple[Path, Path]:
    """Write ``server.pem`` and ``server.key`` (mode 0600) for ``host`` into ``out_dir``.

    The certificate names ``host`` (default: this machine's name),
    ``localhost`` and 127.0.0.1/::1, so it serves local clients too. It is
    made by the ``openssl`` command, given an argument list (no shell).
    Raises :class:`ConfigError` when openssl is missing or fails.
    """
    host = host or socket.getfqdn()
    alt_names = _subject_alt_names(host)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert, key = out_dir / CERT_NAME, out_dir / KEY_NAME
    command = [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-sha256", "-days", str(days),
        "-subj", f"/CN={host}",
        "-addext", f"subjectAltName={alt_names}",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    previous_umask = os.umask(0o077)
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise ConfigError("the openssl command is needed to make a certificate") from error
    finally:
        os.umask(previous_umask)
    if result.returncode != 0:
        raise ConfigError(f"openssl failed: {result.stderr.strip()}")
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert, key


def _subject_alt_names(host: str) -> str:
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    try:
        own = f"IP:{ipaddress.ip_address(host)}"
    except ValueError:
        if not _HOST_NAME.fullmatch(host):
            raise ConfigError(f"{host!r} is not a host name or an IP address") from None
        own = f"DNS:{host}"
    if own not in names:
        names.insert(0, own)
    return ",".join(names)
