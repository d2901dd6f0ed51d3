"""Fixtures for provider tests against libvirt's built-in test driver (no daemon).

``test:///default`` connections in one process share one state while any is
open, and it starts afresh when all are closed: each test opens its own
:class:`Hypervisor`, closes it afterwards and defines domains under names of
its own, so tests do not see each other's changes.
"""

from __future__ import annotations

import gc
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
from lxml import etree
from lxml.builder import E
from pywbem import CIMClassName, CIMInstance, CIMInstanceName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import Hypervisor
from tests.sample_domains import RICH_DOMAIN
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, MethodResult, ParamValue
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry
from virtcim.repository.schema import Repository

TEST_URI = "test:///default"

PRIVATE_NODE = """\
<node>
  <domain type='test'>
    <name>private</name>
    <memory>1048576</memory>
    <os><type>hvm</type></os>
  </domain>
</node>
"""


@pytest.fixture
def hypervisor() -> Iterator[Hypervisor]:
    _wait_for_fresh_test_state()
    hv = Hypervisor(TEST_URI)
    yield hv
    hv.close()


@pytest.fixture
def private_hypervisor(tmp_path: Path) -> Iterator[Hypervisor]:
    """A hypervisor whose state no other connection shares (a test-driver node file).

    For tests that close the underlying connection behind the Hypervisor's
    back: libvirt then keeps that connection's state for its event callbacks.
    """
    node = tmp_path / "node.xml"
    node.write_text(PRIVATE_NODE)
    hv = Hypervisor(f"test://{node}")
    yield hv
    hv.close()


def _wait_for_fresh_test_state(timeout: float = 5.0) -> None:
    """Wait until no earlier test holds the shared ``test:///default`` state.

    Handles of domains, and event callbacks until the event thread releases
    them, keep a closed connection's state alive for a moment.
    """
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        probe = libvirt.open(TEST_URI)
        try:
            fresh = _is_fresh(probe)
        finally:
            probe.close()
        if fresh:
            return
        if time.monotonic() > deadline:
            raise AssertionError("an earlier test still holds the test driver's state")
        time.sleep(0.02)


def _is_fresh(conn: libvirt.virConnect) -> bool:
    domains = conn.listAllDomains()
    domain = domains[0] if len(domains) == 1 else None
    return (
        domain is not None
        and domain.name() == "test"
        and domain.info()[:4] == [libvirt.VIR_DOMAIN_RUNNING, 8388608, 2097152, 2]
        and "<description>" not in domain.XMLDesc()
        and conn.storagePoolLookupByName("default-pool").isActive() == 1
        and conn.networkLookupByName("default").isActive() == 1
    )


@pytest.fixture
def guest_name() -> str:
    """A domain name no other test uses."""
    return f"guest-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rich_xml(guest_name: str) -> str:
    return RICH_DOMAIN.replace("NAME", guest_name)


def _wait_for(condition: Callable[[], object], timeout: float = 5.0) -> object:
    """Poll ``condition`` until it is true (events arrive on another thread)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the timeout")
        time.sleep(0.01)
    return result


@pytest.fixture
def wait_for() -> Callable[..., object]:
    return _wait_for


# --- the CIM model as the server wires it: providers and dispatcher over the test driver

TEST_PREFIX = "Test"


def record_asks(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The names of the domains libvirt's ``virDomain.<method>`` is called for, as it is called.

    ``state`` is how one domain's state is asked of libvirt, ``XMLDesc`` its XML.
    """
    asked: list[str] = []
    original = getattr(libvirt.virDomain, method)

    def counting(handle: libvirt.virDomain, *args: Any, **kwargs: Any) -> Any:
        asked.append(handle.name())
        return original(handle, *args, **kwargs)

    monkeypatch.setattr(libvirt.virDomain, method, counting)
    return asked


class Cim:
    """Intrinsic and extrinsic calls in ``root/virt``, results as lists."""

    def __init__(self, dispatcher: Dispatcher, hypervisor: Hypervisor) -> None:
        self.dispatcher = dispatcher
        self.hypervisor = hypervisor
        self._ids = itertools.count(1)

    def call(self, name: str, **params: Any) -> Any:
        result = self.dispatcher.intrinsic(
            IntrinsicCall(str(next(self._ids)), name, VIRT_NAMESPACE, params))
        return result if isinstance(result, CIMInstance) else list(result)

    def enumerate(self, classname: str) -> list[CIMInstance]:
        return self.call("EnumerateInstances", ClassName=CIMClassName(classname))

    def names(self, classname: str) -> list[CIMInstanceName]:
        return self.call("EnumerateInstanceNames", ClassName=CIMClassName(classname))

    def get(self, path: CIMInstanceName) -> CIMInstance:
        return self.call("GetInstance", InstanceName=self.local(path))

    def references(self, path: CIMInstanceName, **filters: Any) -> list[CIMInstance]:
        return self.call("References", ObjectName=self.local(path), **filters)

    def associator_names(self, path: CIMInstanceName, **filters: Any) -> list[CIMInstanceName]:
        return self.call("AssociatorNames", ObjectName=self.local(path), **filters)

    def associators(self, path: CIMInstanceName, **filters: Any) -> list[CIMInstance]:
        return self.call("Associators", ObjectName=self.local(path), **filters)

    def invoke(self, path: CIMInstanceName, method: str, **params: Any) -> MethodResult:
        values = {name: ParamValue(name, value) for name, value in params.items()}
        return self.dispatcher.extrinsic(
            ExtrinsicCall(str(next(self._ids)), method, self.local(path), values))

    def guest(self, name: str) -> CIMInstanceName:
        """The path of guest ``name``, as a client would write it."""
        classname = f"{TEST_PREFIX}_ComputerSystem"
        return CIMInstanceName(classname, {"CreationClassName": classname, "Name": name},
                               namespace=VIRT_NAMESPACE)

    def service(self) -> CIMInstanceName:
        """The path of the hypervisor's VirtualSystemManagementService."""
        classname = f"{TEST_PREFIX}_VirtualSystemManagementService"
        return CIMInstanceName(classname, {
            "SystemCreationClassName": f"{TEST_PREFIX}_HostSystem",
            "SystemName": self.hypervisor.hostname,
            "CreationClassName": classname, "Name": "Management Service",
        }, namespace=VIRT_NAMESPACE)

    @staticmethod
    def local(path: CIMInstanceName) -> CIMInstanceName:
        return CIMInstanceName(path.classname, path.keybindings, namespace=VIRT_NAMESPACE)


@pytest.fixture
def cim(repository: Repository, hypervisor: Hypervisor) -> Iterator[Cim]:
    registry = ProviderRegistry()
    register_providers(registry, repository, [hypervisor], ProfileRegistry())
    dispatcher = Dispatcher(repository, registry)
    yield Cim(dispatcher, hypervisor)
    dispatcher.close()


def minimal_domain_xml(name: str) -> str:
    """A shut-off test-driver domain; ``name`` goes in as element text, escaped by lxml."""
    domain = E.domain(
        E.name(name),
        E.memory("65536"),
        E.vcpu("2"),
        E.os(E.type("hvm")),
        E.devices(E.disk(E.source(file="/guest.img"), E.target(dev="vda"), type="file",
                         device="disk")),
        type="test",
    )
    return etree.tostring(domain, encoding="unicode")


@pytest.fixture
def libvirt_conn(hypervisor: Hypervisor) -> Iterator[libvirt.virConnect]:
    """A plain libvirt connection to the same test-driver state as ``hypervisor``."""
    conn = libvirt.open(TEST_URI)
    yield conn
    conn.close()


@pytest.fixture
def define_guest(libvirt_conn: libvirt.virConnect) -> Callable[..., libvirt.virDomain]:
    """``define_guest(name, xml=None)``: define a domain through libvirt, not through CIM."""

    def define(name: str, xml: str | None = None) -> libvirt.virDomain:
        return libvirt_conn.defineXML(xml or minimal_domain_xml(name))

    return define
