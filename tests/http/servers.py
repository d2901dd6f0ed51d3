"""Real virtcim servers on loopback for end-to-end tests, and client helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pywbem

from virtcim.app import Application, build_application
from virtcim.config import Settings
from virtcim.http.auth import set_password
from virtcim.http.tls import make_self_signed

USER = "operator"
PASSWORD = "s3cret pass"

#: The compiled MOF every test server reads, as the session's ``repository`` fixture does:
#: compiling takes seconds, and each server has a state folder of its own.
SHARED_REPOSITORY_CACHE = Path(tempfile.gettempdir()) / "virtcim-test-repository"

# pywbem honours REQUESTS_CA_BUNDLE over its own no_verification flag, and
# the test servers use self-signed certificates.
CLIENT_ENV = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}


@dataclass
class RunningServer:
    app: Application
    http_url: str
    https_url: str | None
    auth: bool

    def connection(self, namespace: str = "root/virt", https: bool = False,
                   password: str = PASSWORD, **kwargs) -> pywbem.WBEMConnection:
        url = self.https_url if https else self.http_url
        creds = (USER, password) if self.auth else None
        return pywbem.WBEMConnection(url, creds, default_namespace=namespace,
                                     no_verification=True, timeout=30, **kwargs)


def share_repository_cache(state_dir: Path) -> None:
    """Point the compiled-MOF cache of a new state folder at :data:`SHARED_REPOSITORY_CACHE`."""
    SHARED_REPOSITORY_CACHE.mkdir(mode=0o700, exist_ok=True)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cache = state_dir / "cache"
    if not cache.is_symlink():  # a server started again on the same folder finds it there
        cache.symlink_to(SHARED_REPOSITORY_CACHE, target_is_directory=True)


@contextmanager
def running_server(tmp: Path, *, auth: bool = False, https: bool = False,
                   uris: tuple[str, ...] = ("test:///default",),
                   **settings: object) -> Iterator[RunningServer]:
    """A server on 127.0.0.1 with ephemeral ports, stopped on exit; ``settings`` are
    further :class:`Settings` fields."""
    cert = key = None
    if https:
        cert, key = make_self_signed(tmp / "tls", host="127.0.0.1")
    users = tmp / "users"
    if auth:
        set_password(users, USER, PASSWORD)
    defaults: dict[str, object] = dict(
        uris=list(uris), bind=["127.0.0.1"], http_port=0, https_port=0 if https else None,
        cert=cert, key=key, auth="file" if auth else "none", users=users,
        state_dir=tmp / "state", workers=8,
    )
    if "state_dir" not in settings:
        share_repository_cache(tmp / "state")
    app = build_application(Settings(**{**defaults, **settings}))
    app.start()
    try:
        urls = app.server.urls
        https_url = next((u for u in urls if u.startswith("https:")), None)
        http_url = next(u for u in urls if u.startswith("http:"))
        with _clean_env():
            yield RunningServer(app, http_url, https_url, auth)
    finally:
        app.stop()


@contextmanager
def _clean_env() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def pywbemcli(server: RunningServer, *args: str, https: bool = False,
              password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    url = server.https_url if https else server.http_url
    cmd = [_tool("pywbemcli"), "--server", url, "--no-verify", "--timeout", "30",
           "--default-namespace", "root/virt"]
    if server.auth:
        cmd += ["--user", USER, "--password", password]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120,
                          env=CLIENT_ENV, stdin=subprocess.DEVNULL)


def wbemcli(server: RunningServer, op: str, object_path: str, *args: str, https: bool = False,
            password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """sblim wbemcli: ``object_path`` is ``namespace:Class[.keys]``, no scheme or host."""
    url = server.https_url if https else server.http_url
    scheme, hostport = url.split("://")
    creds = f"{USER}:{password}@" if server.auth else ""
    target = f"{scheme}://{creds}{hostport}/{object_path}"
    cmd = ["wbemcli", op, "-noverify", target, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=CLIENT_ENV, stdin=subprocess.DEVNULL)


def _tool(name: str) -> str:
    """A console script installed beside the Python running the tests, else on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def driver_guest_path(name: str) -> pywbem.CIMInstanceName:
    """The path of test-driver guest ``name`` in ``root/virt``, as a client writes it."""
    return pywbem.CIMInstanceName("Test_ComputerSystem", {
        "CreationClassName": "Test_ComputerSystem", "Name": name}, namespace="root/virt")
