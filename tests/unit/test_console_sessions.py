"""Who is connected to a console: the kernel's TCP tables and libvirt's graphics events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import libvirt

from providers.virt import Event
from providers.virt.sessions import GraphicsClients, PortUse, TcpTable, is_local

HEADING = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
           "   uid  timeout inode\n")
#: 127.0.0.1:5901 listening, two clients on it (ports 40000 and 39000), an outgoing
#: connection to a remote 5901 from port 50000, and 5902 in TIME_WAIT.
TCP4 = HEADING + """\
   0: 0100007F:170D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1
   1: 0100007F:170D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2
   2: 0100007F:170D 0100007F:9858 01 00000000:00000000 00:00000000 00000000     0        0 3
   3: 0100007F:C350 0A00000A:170D 01 00000000:00000000 00:00000000 00000000     0        0 4
   4: 0100007F:170E 0100007F:9C41 06 00000000:00000000 00:00000000 00000000     0        0 5
"""
#: [::1]:5903 listening.
TCP6 = HEADING + """\
   0: 00000000000000000000000001000000:170F 00000000000000000000000000000000:0000 0A 0 0 0 0 0 1
   1: garbage
"""


def test_the_tables_tell_listening_ports_and_their_clients_in_order():
    table = TcpTable.parse([TCP4, TCP6])
    assert table.at("uuid", 5901) == PortUse(True, (39000, 40000))
    assert table.at("uuid", 5903) == PortUse(True, ())


def test_a_port_that_only_waits_to_close_or_connects_out_is_not_a_console():
    table = TcpTable.parse([TCP4])
    assert table.at("uuid", 5902) == PortUse(False, ())
    assert table.at("uuid", 5901).clients == (39000, 40000)  # not the outgoing one, 50000


def test_tables_that_cannot_be_read_give_no_table(tmp_path: Path):
    assert TcpTable.read([tmp_path / "missing"]) is None
    (tmp_path / "tcp").write_text(TCP4)
    table = TcpTable.read([tmp_path / "missing", tmp_path / "tcp"])
    assert table is not None and table.at("uuid", 5901).listening


def test_a_uri_without_a_host_is_local():
    assert is_local("qemu:///system") and is_local("test:///default")
    assert not is_local("qemu+ssh://root@far.example/system")


class _Hypervisor:
    """Stands for a Hypervisor: keeps the listener that GraphicsClients adds."""

    listener: Callable[[Event], None]

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self.listener = listener
        return lambda: None


def graphics(phase: int, client: str, port: str = "5900") -> Event:
    local = {"family": "ipv4", "node": "127.0.0.1", "service": port}
    remote = {"family": "ipv4", "node": "192.0.2.7", "service": client}
    return Event("domain", "web", "uuid-1", libvirt.VIR_DOMAIN_EVENT_ID_GRAPHICS,
                 (phase, local, remote, "vnc", []))


def test_events_follow_clients_that_connect_and_disconnect():
    hv = _Hypervisor()
    clients = GraphicsClients(hv)  # type: ignore[arg-type]
    assert clients.at("uuid-1", 5900) == PortUse(True, ())
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, "40001"))
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE, "40001"))
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, "40000"))
    assert clients.at("uuid-1", 5900) == PortUse(True, (40000, 40001))
    assert clients.at("uuid-1", 5901) == PortUse(True, ())
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_DISCONNECT, "40000"))
    assert clients.at("uuid-1", 5900) == PortUse(True, (40001,))


def test_a_guest_that_stops_has_no_clients_left():
    hv = _Hypervisor()
    clients = GraphicsClients(hv)  # type: ignore[arg-type]
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, "40000"))
    hv.listener(Event("domain", "web", "uuid-1", libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                      (libvirt.VIR_DOMAIN_EVENT_STOPPED, 0)))
    assert clients.at("uuid-1", 5900) == PortUse(True, ())


def test_events_without_a_port_are_ignored():
    hv = _Hypervisor()
    clients = GraphicsClients(hv)  # type: ignore[arg-type]
    hv.listener(graphics(libvirt.VIR_DOMAIN_EVENT_GRAPHICS_CONNECT, "", port="x"))
    hv.listener(Event("pool", "default", "uuid-2", 0, ()))
    assert clients.at("uuid-1", 5900) == PortUse(True, ())
