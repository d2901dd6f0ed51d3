"""Fixtures for tests against a real libvirtd with QEMU.

Every libvirt object a test creates takes its name from a scratch_* fixture,
which removes whatever carries that name when the test ends, passed or failed:
no guest, pool, volume, network or network filter outlives its test, and a test
never touches an object it did not name.
"""

import functools
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import libvirt
import pytest
import pywbem
from lxml import etree
from lxml.builder import E

from providers.virt import Hypervisor

NAME_PREFIX = "virtcim-test-"
TINY_GUEST_MEMORY_MIB = 64

# Removes a domain together with everything libvirt keeps beside its definition.
UNDEFINE_WITH_EVERYTHING = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
)

T = TypeVar("T")


class ScratchNames:
    """Hands out unique names, then removes the objects that carry them.

    `scratch()` returns a new `virtcim-test-<random>` name. Arguments, such as
    the pool of a volume, are kept and passed to the remover before the name.
    """

    def __init__(self, remove: Callable[..., None]) -> None:
        self._remove = remove
        self._handed_out: list[tuple[tuple[str, ...], str]] = []

    def __call__(self, *where: str) -> str:
        name = NAME_PREFIX + secrets.token_hex(4)
        self._handed_out.append((where, name))
        return name

    def remove_all(self) -> None:
        """Remove newest first, and report every failure rather than the first."""
        failures = []
        for where, name in reversed(self._handed_out):
            try:
                self._remove(*where, name)
            except libvirt.libvirtError as error:
                failures.append(f"{'/'.join((*where, name))}: {error}")
        if failures:
            pytest.fail("test objects left behind: " + "; ".join(failures), pytrace=False)


def lookup_or_none(lookup: Callable[[str], T], name: str, missing_code: int) -> T | None:
    """`lookup(name)`, or None when libvirt says there is no such object."""
    try:
        return lookup(name)
    except libvirt.libvirtError as error:
        if error.get_error_code() == missing_code:
            return None
        raise


def remove_guest(conn: libvirt.virConnect, name: str) -> None:
    domain = lookup_or_none(conn.lookupByName, name, libvirt.VIR_ERR_NO_DOMAIN)
    if domain is None:
        return
    persistent = domain.isPersistent()  # a transient domain is gone once destroyed
    if domain.isActive():
        domain.destroy()
    if persistent:
        domain.undefineFlags(UNDEFINE_WITH_EVERYTHING)


def remove_pool(conn: libvirt.virConnect, name: str) -> None:
    """Stop and undefine the pool; its target folder and files are the test's own to remove."""
    pool = lookup_or_none(conn.storagePoolLookupByName, name, libvirt.VIR_ERR_NO_STORAGE_POOL)
    if pool is None:
        return
    persistent = pool.isPersistent()
    if pool.isActive():
        pool.destroy()
    if persistent:
        pool.undefine()


def remove_volume(conn: libvirt.virConnect, pool_name: str, name: str) -> None:
    pool = lookup_or_none(conn.storagePoolLookupByName, pool_name, libvirt.VIR_ERR_NO_STORAGE_POOL)
    if pool is None or not pool.isActive():
        return
    volume = lookup_or_none(pool.storageVolLookupByName, name, libvirt.VIR_ERR_NO_STORAGE_VOL)
    if volume is not None:
        volume.delete(0)


def remove_network(conn: libvirt.virConnect, name: str) -> None:
    network = lookup_or_none(conn.networkLookupByName, name, libvirt.VIR_ERR_NO_NETWORK)
    if network is None:
        return
    persistent = network.isPersistent()
    if network.isActive():
        network.destroy()
    if persistent:
        network.undefine()


def remove_network_filter(conn: libvirt.virConnect, name: str) -> None:
    network_filter = lookup_or_none(conn.nwfilterLookupByName, name, libvirt.VIR_ERR_NO_NWFILTER)
    if network_filter is not None:
        network_filter.undefine()


def scratch_names(remove: Callable[..., None]) -> Iterator[ScratchNames]:
    names = ScratchNames(remove)
    yield names
    names.remove_all()


@pytest.fixture(scope="session")
def qemu_conn(qemu_uri: str) -> Iterator[libvirt.virConnect]:
    """One connection to the test daemon, shared by the whole session."""
    conn = libvirt.open(qemu_uri)
    yield conn
    conn.close()


@pytest.fixture
def scratch_guest_name(qemu_conn: libvirt.virConnect) -> Iterator[ScratchNames]:
    """`scratch_guest_name()` names a guest; afterwards it is destroyed and undefined
    with its managed save, snapshot and checkpoint metadata and NVRAM."""
    yield from scratch_names(functools.partial(remove_guest, qemu_conn))


@pytest.fixture
def scratch_pool_name(qemu_conn: libvirt.virConnect) -> Iterator[ScratchNames]:
    """`scratch_pool_name()` names a storage pool; afterwards it is stopped and undefined.
    Point it at a folder of the test's own (tmp_path)."""
    yield from scratch_names(functools.partial(remove_pool, qemu_conn))


@pytest.fixture
def scratch_volume_name(qemu_conn: libvirt.virConnect) -> Iterator[ScratchNames]:
    """`scratch_volume_name(pool_name)` names a volume in that pool; afterwards it is deleted."""
    yield from scratch_names(functools.partial(remove_volume, qemu_conn))


@pytest.fixture
def scratch_network_name(qemu_conn: libvirt.virConnect) -> Iterator[ScratchNames]:
    """`scratch_network_name()` names a virtual network; afterwards it is stopped and undefined."""
    yield from scratch_names(functools.partial(remove_network, qemu_conn))


@pytest.fixture
def scratch_filter_name(qemu_conn: libvirt.virConnect) -> Iterator[ScratchNames]:
    """`scratch_filter_name()` names a network filter; afterwards it is undefined."""
    yield from scratch_names(functools.partial(remove_network_filter, qemu_conn))


def build_tiny_guest_xml(name: str, *, arch: str, virt_type: str) -> str:
    """A guest that costs almost nothing: 64 MiB, one vCPU, no disk, no kernel,
    no network, no graphics. Its firmware finds nothing to boot and idles."""
    domain = E.domain(
        E.name(name),
        E.memory(str(TINY_GUEST_MEMORY_MIB), unit="MiB"),
        E.vcpu("1"),
        E.os(E.type("hvm", arch=arch)),
        E.devices(E.memballoon(model="none")),
        type=virt_type,
    )
    return etree.tostring(domain, encoding="unicode")


@pytest.fixture(scope="session")
def tiny_guest_xml(qemu_conn: libvirt.virConnect) -> Callable[[str], str]:
    """`tiny_guest_xml(name)`: domain XML for the host's architecture, with KVM
    when the daemon offers it (a usable /dev/kvm) and QEMU's TCG otherwise."""
    capabilities = etree.fromstring(qemu_conn.getCapabilities())
    arch = capabilities.findtext("host/cpu/arch")
    offered = capabilities.xpath("guest[arch/@name=$arch]/arch/domain/@type", arch=arch)
    virt_type = "kvm" if "kvm" in offered else "qemu"
    return functools.partial(build_tiny_guest_xml, arch=arch, virt_type=virt_type)


@pytest.fixture
def hypervisor(qemu_uri: str) -> Iterator[Hypervisor]:
    """The adapter's connection to the daemon, closed afterwards."""
    hv = Hypervisor(qemu_uri)
    yield hv
    hv.close()


@pytest.fixture
def pool_dir() -> Iterator[str]:
    """A folder path the QEMU user can reach, not yet made (a pool makes it); removed afterwards."""
    parent = tempfile.mkdtemp(prefix="virtcim-pool-")
    os.chmod(parent, 0o755)
    yield os.path.join(parent, "images")
    shutil.rmtree(parent, ignore_errors=True)


def finished_job(conn: pywbem.WBEMConnection, reply: tuple) -> pywbem.CIMInstance:
    """The job of a method that answered 4096 and its job, once the job has finished."""
    answer, out = reply
    assert answer == 4096, reply
    deadline = time.monotonic() + 120
    job = conn.GetInstance(out["Job"])
    while job["JobState"] == 4 and time.monotonic() < deadline:  # Running
        time.sleep(0.1)
        job = conn.GetInstance(out["Job"])
    return job
