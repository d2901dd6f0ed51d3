"""Server settings: defaults, then a TOML file, then command-line flags.

The TOML file has four tables (``packaging/virtcim.toml`` is the commented
example)::

    [server]   bind, http_port, https_port, workers, pending_requests,
               max_connections, max_client_connections, max_body_bytes,
               head_timeout, read_timeout, keepalive_timeout, state_dir
    [tls]      cert, key, client_ca, listener_ca
    [auth]     method, users, pam_service
    [libvirt]  uris
    [logging]  level
    [roles."NAMESPACE"]  read-only, full: users and @groups (see virtcim.authorization)

A port set to ``"off"`` disables that listener; port 0 asks the kernel for a
free port (the bound port is logged), which is what tests use.

The authentication method defaults to ``none`` when every bind address is a
loopback address and to ``pam`` otherwise; ``none`` on a reachable address is
refused, so a misconfigured server never accepts anonymous clients from the
network.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HTTP_PORT = 5988
DEFAULT_HTTPS_PORT = 5989
AUTH_METHODS = ("none", "pam", "file")
ROLE_NAMES = ("read-only", "full")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(Exception):
    """A setting that prevents the server from starting; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Every option of ``virtcim serve``.

    ``uris`` empty means libvirt's default URI. ``http_port`` or
    ``https_port`` ``None`` disables that listener; HTTPS listens only when
    ``cert`` is set (``key`` may be omitted when the certificate file holds
    the key too). ``auth`` ``None`` means "choose from the bind addresses"
    (see the module docstring); :meth:`checked` resolves it.
    """

    uris: list[str] = field(default_factory=list)
    bind: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    http_port: int | None = DEFAULT_HTTP_PORT
    https_port: int | None = DEFAULT_HTTPS_PORT
    cert: Path | None = None
    key: Path | None = None
    #: CA whose client certificates authenticate their subject's common name as a user.
    client_ca: Path | None = None
    #: CA (PEM) the certificates of HTTPS indication listeners must chain to, instead of
    #: the system's trusted CAs.
    listener_ca: Path | None = None
    auth: str | None = None
    users: Path = Path("/etc/virtcim/users")
    pam_service: str | None = None
    state_dir: Path = Path("/var/lib/virtcim")
    log_level: str = "info"
    workers: int = 16
    pending_requests: int = 64
    max_connections: int = 4096
    max_client_connections: int = 256
    max_body_bytes: int = 32 * 1024 * 1024
    head_timeout: float = 10.0
    read_timeout: float = 30.0
    keepalive_timeout: float = 15.0
    #: Namespace (or ``*``) -> role name -> users and ``@groups``; ``None``: not configured.
    roles: dict[str, dict[str, list[str]]] | None = None
    read_only: bool = False

    @property
    def https_enabled(self) -> bool:
        return self.cert is not None and self.https_port is not None

    def checked(self) -> Settings:
        """Validate the combination of settings and resolve ``auth``.

        Raises :class:`ConfigError` naming the offending setting.
        """
        if not self.bind:
            raise ConfigError("bind: at least one address is needed")
        if self.key is not None and self.cert is None:
            raise ConfigError("key is set but cert is not")
        if self.client_ca is not None and self.cert is None:
            raise ConfigError("client_ca is set but cert is not")
        if self.http_port is None and not self.https_enabled:
            raise ConfigError("no listener: http_port is off and no cert is configured for HTTPS")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
            )
        for name in ("workers", "pending_requests", "max_connections", "max_client_connections",
                     "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        for name in ("head_timeout", "read_timeout", "keepalive_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be more than 0 seconds")
        return dataclasses.replace(self, auth=self._checked_auth())

    def _checked_auth(self) -> str:
        exposed = [address for address in self.bind if not is_loopback(address)]
        if self.auth is None:
            return "pam" if exposed else "none"
        if self.auth not in AUTH_METHODS:
            raise ConfigError(f"auth: {self.auth!r} is not one of {', '.join(AUTH_METHODS)}")
        if self.auth == "none" and exposed:
            raise ConfigError(
                f"auth none is refused: bind address {exposed[0]!r} is not a loopback address; "
                "use auth pam or auth file"
            )
        return self.auth


def is_loopback(address: str) -> bool:
    """True when ``address`` (an IP address or a host name) only reaches this host.

    A name counts as loopback when every address it resolves to is one; a
    name that does not resolve does not count.
    """
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos
    )


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the defaults, the TOML file at ``path`` and ``overrides``.

    ``overrides`` are :class:`Settings` field names with the values of the
    command-line flags that were given. The result is :meth:`Settings.checked`.
    """
    values = _read_toml(path) if path is not None else {}
    values.update(overrides)
    unknown = set(values) - {f.name for f in dataclasses.fields(Settings)}
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return Settings(**values).checked()


def parse_port(text: str) -> int | None:
    """A port number as written in the TOML file or on the command line; ``off`` is ``None``."""
    if text == "off":
        return None
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a port number or 'off'") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{port} is not a port number (0-65535)")
    return port


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string")
    return value


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("a list of strings")
    return list(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an integer")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a number of seconds")
    return float(value)


def _path(value: Any) -> Path:
    return Path(_string(value))


def _port(value: Any) -> int | None:
    if isinstance(value, str):
        return parse_port(value)
    return parse_port(str(_integer(value)))


#: (table, key) in the TOML file -> (Settings field, converter).
_TOML_KEYS: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("server", "bind"): ("bind", _string_list),
    ("server", "http_port"): ("http_port", _port),
    ("server", "https_port"): ("https_port", _port),
    ("server", "workers"): ("workers", _integer),
    ("server", "pending_requests"): ("pending_requests", _integer),
    ("server", "max_connections"): ("max_connections", _integer),
    ("server", "max_client_connections"): ("max_client_connections", _integer),
    ("server", "max_body_bytes"): ("max_body_bytes", _integer),
    ("server", "head_timeout"): ("head_timeout", _seconds),
    ("server", "read_timeout"): ("read_timeout", _seconds),
    ("server", "keepalive_timeout"): ("keepalive_timeout", _seconds),
    ("server", "state_dir"): ("state_dir", _path),
    ("server", "read_only"): ("read_only", _boolean),
    ("tls", "cert"): ("cert", _path),
    ("tls", "key"): ("key", _path),
    ("tls", "client_ca"): ("client_ca", _path),
    ("tls", "listener_ca"): ("listener_ca", _path),
    ("auth", "method"): ("auth", _string),
    ("auth", "users"): ("users", _path),
    ("auth", "pam_service"): ("pam_service", _string),
    ("libvirt", "uris"): ("uris", _string_list),
    ("logging", "level"): ("log_level", _string),
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from error
    return _settings_from_toml(path, document)


def _settings_from_toml(path: Path, document: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for table, entries in document.items():
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: {table!r} must be a table ([{table}])")
        if table == "roles":
            values["roles"] = _roles(path, entries)
            continue
        for key, raw in entries.items():
            name = f"{table}.{key}"
            if (table, key) not in _TOML_KEYS:
                raise ConfigError(f"{path}: unknown setting {name!r}")
            field_name, convert = _TOML_KEYS[table, key]
            try:
                values[field_name] = convert(raw)
            except TypeError as error:
                raise ConfigError(f"{path}: {name} must be {error}, not {raw!r}") from error
            except ValueError as error:
                raise ConfigError(f"{path}: {name}: {error}") from error
    return values


def _roles(path: Path, tables: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The ``[roles."NAMESPACE"]`` tables: each role name to a list of users and @groups."""
    roles = {}
    for namespace, members in tables.items():
        if not isinstance(members, dict):
            raise ConfigError(f'{path}: roles.{namespace} must be a table ([roles."{namespace}"])')
        for role, names in members.items():
            if role not in ROLE_NAMES:
                raise ConfigError(
                    f"{path}: roles.{namespace}: {role!r} is not one of {', '.join(ROLE_NAMES)}"
                )
            try:
                members[role] = _string_list(names)
            except TypeError as error:
                raise ConfigError(f"{path}: roles.{namespace}.{role} must be {error}") from error
        roles[namespace] = dict(members)
    return roles
