"""Fixtures for provider tests against libvirt's built-in test driver (no daemon).

``test:///default`` connections in one process share one state while any is
open, and it starts afresh when all are closed: each test opens its own
:class:`Hypervisor`, closes it afterwards and defines domains under names of
its own, so tests do not see each other's changes.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest

from providers.virt import Hypervisor

TEST_URI = "test:///default"

#: A domain with one of each device the model reads, plus content it does not
#: model: <seclabel>, <metadata> in a foreign namespace, and (kept by the
#: model, dropped by the test driver) <qemu:commandline>.
RICH_DOMAIN = """\
<domain type='test' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>NAME</name>
  <metadata>
    <app:info xmlns:app="http://example.org/app/1"><app:owner id="7">ops &amp; dev</app:owner></app:info>
  </metadata>
  <memory unit='MiB'>512</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu current='1'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='cdrom'/>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic eoi='on'/></features>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>preserve</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/images/web.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/iso/install.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:ab:cd:ef'/>
      <source bridge='br0'/>
    </interface>
    <console type='pty'><target type='serial' port='0'/></console>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' keymap='en-us' passwd='s3cret'/>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'/>
  <qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline>
</domain>
"""

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
