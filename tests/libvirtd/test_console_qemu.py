"""A QEMU guest's VNC console as a KVMRedirectionSAP (DSP1076): its port and state, checked
against what libvirt reports and against a real client connection."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import libvirt
import pytest
from lxml import etree
from lxml.builder import E

from providers import register_providers
from providers.virt import Hypervisor
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

SAP = "KVM_KVMRedirectionSAP"
AVAILABLE, ENABLED, DISABLED = 6, 2, 3


class Consoles:
    """The SAPs of one guest, read through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher, name: str) -> None:
        self.dispatcher = dispatcher
        self.name = name

    def saps(self) -> list:
        call = IntrinsicCall("1", "EnumerateInstances", "root/virt", {"ClassName": SAP})
        return [sap for sap in self.dispatcher.intrinsic(call) if sap["SystemName"] == self.name]

    def state(self) -> tuple[str, int]:
        [sap] = self.saps()
        return sap["Name"], sap["EnabledState"]


@pytest.fixture
def vnc_guest(qemu_uri: str, qemu_conn: libvirt.virConnect, repository, scratch_guest_name,
              tiny_guest_xml: Callable[[str], str]) -> Iterator[tuple[libvirt.virDomain, Consoles]]:
    """A tiny guest with a VNC console on a port libvirt chooses (removed afterwards)."""
    name = scratch_guest_name()
    xml = etree.fromstring(tiny_guest_xml(name))
    xml.find("devices").append(E.graphics(type="vnc", autoport="yes", listen="127.0.0.1"))
    domain = qemu_conn.defineXML(etree.tostring(xml, encoding="unicode"))
    hv = Hypervisor(qemu_uri)
    registry = ProviderRegistry()
    register_providers(registry, repository, [hv], ProfileRegistry())
    dispatcher = Dispatcher(repository, registry)
    yield domain, Consoles(dispatcher, name)
    dispatcher.close()
    hv.close()


def vnc_port(domain: libvirt.virDomain) -> int:
    """The port libvirt says the running guest's VNC console listens on."""
    return int(etree.fromstring(domain.XMLDesc()).find("devices/graphics").get("port"))


def test_the_console_of_a_qemu_guest_through_its_life(vnc_guest):
    domain, consoles = vnc_guest
    assert consoles.state() == ("-1:-1", DISABLED)
    domain.create()
    port = vnc_port(domain)
    assert port >= 5900
    assert consoles.state() == (f"{port}:0", AVAILABLE)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        assert client.recv(12).startswith(b"RFB ")  # QEMU's VNC server greets its client
        assert consoles.state() == (f"{port}:{client.getsockname()[1]}", ENABLED)
    domain.destroy()
    assert consoles.state() == ("-1:-1", DISABLED)
