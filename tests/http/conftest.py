"""Fixtures for tests that run a real server on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest

from tests.http.servers import RunningServer, running_server
from virtcim.http.server import Handler, HTTPServerGroup, Limits, Listener


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """virtcim on the test driver, HTTP on a free loopback port, no authentication:
    one per test module."""
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


@pytest.fixture
def conn(server: RunningServer):
    """A pywbem connection to :func:`server`'s ``root/virt``."""
    return server.connection()


@pytest.fixture
def libvirt_conn() -> Iterator[libvirt.virConnect]:
    """The test driver the in-process server reads (one state per process)."""
    conn = libvirt.open("test:///default")
    yield conn
    conn.close()


@pytest.fixture
def running_guest(libvirt_conn: libvirt.virConnect) -> Iterator[str]:
    """A running test-driver guest, ``job-guest``, removed afterwards."""
    domain = libvirt_conn.defineXML("<domain type='test'><name>job-guest</name>"
                                    "<memory>65536</memory><os><type>hvm</type></os></domain>")
    domain.create()
    yield "job-guest"
    if domain.isActive():
        domain.destroy()
    domain.undefine()


@pytest.fixture
def start_transport() -> Iterator[Callable[..., HTTPServerGroup]]:
    """Start an :class:`HTTPServerGroup` on 127.0.0.1 (free port) around a handler; stopped after the test.

    Call it as ``start_transport(handler, listeners=None, authenticator=None, **limits)``.
    """
    groups: list[HTTPServerGroup] = []

    def start(
        handler: Handler,
        listeners: list[Listener] | None = None,
        authenticator=None,
        **limits,
    ) -> HTTPServerGroup:
        group = HTTPServerGroup(
            listeners or [Listener("127.0.0.1", 0)], handler, authenticator, Limits(**limits)
        )
        group.start()
        groups.append(group)
        return group

    yield start
    for group in groups:
        group.stop()


@pytest.fixture(scope="session")
def transport_tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for localhost, made by ``virtcim cert``."""
    from virtcim.cli import main

    out = tmp_path_factory.mktemp("tls")
    assert main(["cert", "--out", str(out), "--host", "localhost"]) == 0
    return out / "server.pem", out / "server.key"
