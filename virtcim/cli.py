"""The ``virtcim`` command: ``serve``, ``passwd`` and ``cert``."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import virtcim
from virtcim.config import (
    AUTH_METHODS,
    LOG_LEVELS,
    ConfigError,
    Settings,
    load_settings,
    parse_port,
)

DEFAULT_USERS_FILE = Settings().users
_SETTINGS_FIELDS = {field.name for field in dataclasses.fields(Settings)}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``virtcim`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as error:
        print(f"virtcim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtcim", description="WBEM server for libvirt hypervisors (CIM-XML over HTTP/HTTPS)."
    )
    parser.add_argument("--version", action="version", version=f"virtcim {virtcim.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(
        commands.add_parser("serve", help="run the WBEM server", argument_default=argparse.SUPPRESS)
    )
    _add_passwd(commands.add_parser("passwd", help="manage the users file of 'auth file'"))
    _add_cert(commands.add_parser("cert", help="make a self-signed certificate for HTTPS"))
    return parser


def _port(text: str) -> int | None:
    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


# --- serve -------------------------------------------------------------------------------------------


def _add_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument(
        "--uri",
        dest="uris",
        action="append",
        metavar="URI",
        help="libvirt connection URI (repeat for several hypervisors; default: libvirt's default)",
    )
    parser.add_argument(
        "--bind",
        action="append",
        metavar="ADDR",
        help="address to listen on (repeat for several; default 127.0.0.1)",
    )
    parser.add_argument(
        "--http-port", type=_port, metavar="N", help="HTTP port, or 'off' (default 5988)"
    )
    parser.add_argument(
        "--https-port", type=_port, metavar="N", help="HTTPS port, or 'off' (default 5989)"
    )
    parser.add_argument("--cert", type=Path, help="PEM certificate; enables HTTPS")
    parser.add_argument(
        "--key", type=Path, help="PEM private key (default: in the certificate file)"
    )
    parser.add_argument(
        "--client-ca", type=Path,
        help="PEM CA: client certificates it signed log in as their subject's common name",
    )
    parser.add_argument(
        "--listener-ca", type=Path,
        help="PEM CA that HTTPS indication listeners' certificates must chain to "
             "(default: the system's trusted CAs)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_METHODS,
        help="client authentication (default: none on loopback addresses only, else pam)",
    )
    parser.add_argument(
        "--users", type=Path, help=f"users file for --auth file (default {DEFAULT_USERS_FILE})"
    )
    parser.add_argument(
        "--state-dir", type=Path, help="directory for caches (default /var/lib/virtcim)"
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="log level (default info)")
    parser.add_argument("--workers", type=int, metavar="N", help="concurrent requests (default 16)")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="open libvirt read-only and allow no change or method to anyone",
    )
    parser.set_defaults(run=_serve)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The settings of ``virtcim serve``: defaults, then ``--config``, then the other flags.

    Flags that were not given are absent from ``args`` (``SUPPRESS``), so
    they leave the file's values alone, while ``--http-port off`` can still
    turn a listener off.
    """
    given = vars(args)
    overrides = {name: given[name] for name in _SETTINGS_FIELDS if name in given}
    return load_settings(given.get("config"), **overrides)


def _serve(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from virtcim.app import serve  # the application pulls in the providers and libvirt

    return serve(settings, lambda: settings_from_args(args))


# --- passwd ------------------------------------------------------------------------------------------


def _add_passwd(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user", metavar="USER")
    parser.add_argument("--users", type=Path, default=DEFAULT_USERS_FILE, help="the users file")
    parser.add_argument("--delete", action="store_true", help="remove USER from the file")
    parser.set_defaults(run=_passwd)


def _passwd(args: argparse.Namespace) -> int:
    from virtcim.http.auth import delete_user, set_password

    try:
        if args.delete:
            if not delete_user(args.users, args.user):
                print(f"virtcim: {args.user!r} is not in {args.users}", file=sys.stderr)
                return 1
            return 0
        password = read_new_password(sys.stdin)
        if password is None:
            print("virtcim: the passwords differ or are empty; nothing changed", file=sys.stderr)
            return 1
        set_password(args.users, args.user, password)
    except ValueError as error:
        print(f"virtcim: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        raise ConfigError(f"cannot write {args.users}: {error.strerror}") from error
    return 0


def read_new_password(stream: TextIO) -> str | None:
    """A new password typed twice, from the terminal or two lines of ``stream``; ``None`` on mismatch."""
    if stream.isatty():
        first = getpass.getpass("New password: ")
        second = getpass.getpass("Again: ")
    else:
        first = stream.readline().rstrip("\r\n")
        second = stream.readline().rstrip("\r\n")
    return first if first and first == second else None


# --- cert --------------------------------------------------------------------------------------------


def _add_cert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where to write them"
    )
    parser.add_argument(
        "--host", help="host name the certificate is for (default: this host's name)"
    )
    parser.add_argument("--days", type=int, default=825, help="validity (default 825 days)")
    parser.set_defaults(run=_cert)


def _cert(args: argparse.Namespace) -> int:
    from virtcim.http.tls import make_self_signed

    cert, key = make_self_signed(args.out, args.host, args.days)
    print(f"certificate: {cert}\nprivate key: {key}")
    return 0
