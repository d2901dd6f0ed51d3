"""TLS for the HTTPS listener, and self-signed certificates for first installs and tests."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import subprocess
from pathlib import Path

from virtcim.config import ConfigError

CERT_NAME = "server.pem"
KEY_NAME = "server.key"

_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def server_context(cert: Path, key: Path | None = None) -> ssl.SSLContext:
    """A server-side context with TLS 1.2 or later, loaded from PEM files.

    ``key`` may be ``None`` when ``cert`` holds the private key too. Problems
    with the files raise :class:`ConfigError` naming them, at start-up.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
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
