"""The VirtualSystemManagementService against a real libvirtd with QEMU: live changes.

A guest is defined through CIM, started through libvirt, and changed while it
runs: a disk and a NIC hot-plugged and unplugged, memory ballooned, vCPUs
added. Each change is checked in the live and in the persistent XML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

import libvirt
import pytest
from pywbem import CIMInstance, CIMInstanceName

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from providers.virt import DomainXML, Hypervisor
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, MethodResult, ParamValue
from virtcim.interop import ProfileRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry

PREFIX = "KVM"
MAC = "52:54:00:5e:00:42"
#: libvirt waits this long for a guest to release an unplugged device.
UNPLUG_SECONDS = 20


class Service:
    """Calls the management service of one hypervisor through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher, hv: Hypervisor) -> None:
        self.dispatcher = dispatcher
        self.path = CIMInstanceName(f"{PREFIX}_VirtualSystemManagementService", {
            "SystemCreationClassName": f"{PREFIX}_HostSystem", "SystemName": hv.hostname,
            "CreationClassName": f"{PREFIX}_VirtualSystemManagementService",
            "Name": "Management Service"}, namespace=VIRT_NAMESPACE)  # fmt: skip

    def __call__(self, method: str, **params: object) -> MethodResult:
        values = {name: ParamValue(name, value) for name, value in params.items()}
        result = self.dispatcher.extrinsic(ExtrinsicCall("1", method, self.path, values))
        assert result.return_value == 0
        return result

    def get(self, classname: str, instance_id: str) -> CIMInstance:
        path = CIMInstanceName(classname, {"InstanceID": instance_id}, namespace=VIRT_NAMESPACE)
        return self.dispatcher.intrinsic(IntrinsicCall(
            "1", "GetInstance", VIRT_NAMESPACE, {"InstanceName": path}))  # fmt: skip


def setting(kind: str, **values: object) -> CIMInstance:
    def text(value: object) -> object:
        return [text(v) for v in value] if isinstance(value, list) else str(value)

    return CIMInstance(f"{PREFIX}_{kind}", properties={k: text(v) for k, v in values.items()})


@pytest.fixture
def service(qemu_uri: str, repository) -> Iterator[Service]:
    hv = Hypervisor(qemu_uri)
    registry = ProviderRegistry()
    register_providers(registry, repository, [hv], ProfileRegistry())
    dispatcher = Dispatcher(repository, registry)
    yield Service(dispatcher, hv)
    dispatcher.close()
    hv.close()


@pytest.fixture
def image_dir() -> Iterator[str]:
    """A folder the QEMU user can reach (pytest's own temp folders are private)."""
    folder = tempfile.mkdtemp(prefix="virtcim-vsms-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def xml_of(conn: libvirt.virConnect, name: str, flags: int = 0) -> DomainXML:
    return DomainXML.from_string(conn.lookupByName(name).XMLDesc(flags))


def persistent(conn: libvirt.virConnect, name: str) -> DomainXML:
    return xml_of(conn, name, libvirt.VIR_DOMAIN_XML_INACTIVE)


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + UNPLUG_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_live_changes_reach_the_running_guest_and_its_definition(
    service, qemu_conn, scratch_guest_name, image_dir
):
    name = scratch_guest_name()
    image = os.path.join(image_dir, "extra.raw")
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", image, "1M"], check=True)

    service("DefineSystem",
            SystemSettings=setting("VirtualSystemSettingData", VirtualSystemIdentifier=name),
            ResourceSettings=[
                setting("MemResourceAllocationSettingData", VirtualQuantity=64, Limit=128,
                        AllocationUnits="MegaBytes"),
                setting("ProcResourceAllocationSettingData", VirtualQuantity=1, Limit=50,
                        Weight=512),
            ])  # fmt: skip
    defined = persistent(qemu_conn, name)
    assert (defined.memory_kib, defined.current_memory_kib) == (131072, 65536)
    assert (defined.vcpus, defined.max_vcpus) == (1, 1)  # Limit caps host CPU, not vCPUs
    qemu_conn.lookupByName(name).setVcpusFlags(
        2, libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
    qemu_conn.lookupByName(name).create()
    scheduler = qemu_conn.lookupByName(name).schedulerParameters()
    assert (scheduler["cpu_shares"], scheduler["global_quota"]) == (512, 50000)
    vssd = CIMInstanceName(f"{PREFIX}_VirtualSystemSettingData", {"InstanceID": f"KVM:{name}"},
                           namespace=VIRT_NAMESPACE)

    # hot-plug a disk and a NIC, both on USB: QEMU unplugs those alone, no guest OS needed
    added = service("AddResourceSettings", AffectedConfiguration=vssd, ResourceSettings=[
        setting("DiskResourceAllocationSettingData", VirtualDevice="sdb", Address=image,
                BusType="usb", DriverType="raw"),
        setting("NetResourceAllocationSettingData", NetworkType="user", Address=MAC,
                ResourceSubType="usb-net", AddressProperties=["type", "bus", "port"],
                AddressValues=["usb", "0", "2"]),
    ]).out_params["ResultingResourceSettings"]
    assert [ref["InstanceID"] for ref in added] == [f"{name}/sdb", f"{name}/{MAC}"]
    for xml in (xml_of(qemu_conn, name), persistent(qemu_conn, name)):
        assert xml.find_device("sdb") is not None and xml.find_device(MAC) is not None

    # balloon down within the maximum, one more vCPU up to the maximum
    service("ModifyResourceSettings", ResourceSettings=[
        setting("MemResourceAllocationSettingData", InstanceID=f"{name}/mem",
                VirtualQuantity=96, AllocationUnits="MiB"),
        setting("ProcResourceAllocationSettingData", InstanceID=f"{name}/proc",
                VirtualQuantity=2),
    ])  # fmt: skip
    live = xml_of(qemu_conn, name)
    assert live.vcpus == 2 and qemu_conn.lookupByName(name).vcpusFlags(
        libvirt.VIR_DOMAIN_AFFECT_LIVE) == 2
    assert qemu_conn.lookupByName(name).maxMemory() == 131072
    saved = persistent(qemu_conn, name)
    assert saved.current_memory_kib == 98304 and saved.vcpus == 2

    # a new cap and weight on host CPU, live and in the definition, read back through CIM
    service("ModifyResourceSettings", ResourceSettings=[
        setting("ProcResourceAllocationSettingData", InstanceID=f"{name}/proc", Limit=150,
                Weight=300)])  # fmt: skip
    scheduler = qemu_conn.lookupByName(name).schedulerParameters()
    assert (scheduler["cpu_shares"], scheduler["global_quota"]) == (300, 150000)
    assert persistent(qemu_conn, name).root.findtext("cputune/global_quota") == "150000"
    proc = service.get(f"{PREFIX}_ProcResourceAllocationSettingData", f"{name}/proc")
    assert (proc["VirtualQuantity"], proc["Limit"], proc["Weight"]) == (2, 150, 300)

    # remove both: gone from the definition at once, from the running guest when QEMU lets go
    service("RemoveResourceSettings", ResourceSettings=[
        CIMInstanceName(f"{PREFIX}_DiskResourceAllocationSettingData",
                        {"InstanceID": f"{name}/sdb"}, namespace=VIRT_NAMESPACE),
        CIMInstanceName(f"{PREFIX}_NetResourceAllocationSettingData",
                        {"InstanceID": f"{name}/{MAC}"}, namespace=VIRT_NAMESPACE),
    ])  # fmt: skip
    saved = persistent(qemu_conn, name)
    assert saved.find_device("sdb") is None and saved.find_device(MAC) is None
    assert eventually(lambda: xml_of(qemu_conn, name).find_device("sdb") is None)
    assert eventually(lambda: xml_of(qemu_conn, name).find_device(MAC) is None)

    service("DestroySystem", AffectedSystem=CIMInstanceName(
        f"{PREFIX}_ComputerSystem", {"CreationClassName": f"{PREFIX}_ComputerSystem",
                                     "Name": name}, namespace=VIRT_NAMESPACE))
    assert name not in [domain.name() for domain in qemu_conn.listAllDomains()]


def test_disk_sizes_and_the_implicit_keyboard_as_libvirt_cim_listed_them(
    service, qemu_conn, scratch_guest_name, image_dir
):
    name = scratch_guest_name()
    image = os.path.join(image_dir, "sized.raw")
    with open(image, "wb") as sized:
        sized.truncate(123 << 10)
    missing = os.path.join(image_dir, "missing.raw")
    service("DefineSystem",
            SystemSettings=setting("VirtualSystemSettingData", VirtualSystemIdentifier=name),
            ResourceSettings=[
                setting("DiskResourceAllocationSettingData", VirtualDevice="vda", Address=image),
                setting("DiskResourceAllocationSettingData", VirtualDevice="vdb",
                        Address=missing),
                setting("InputResourceAllocationSettingData", ResourceSubType="mouse",
                        BusType="ps2"),
            ])  # fmt: skip
    disk = service.get(f"{PREFIX}_DiskResourceAllocationSettingData", f"{name}/vda")
    assert (disk["VirtualQuantity"], disk["AllocationUnits"]) == (123 << 10, "Bytes")
    gone = service.get(f"{PREFIX}_DiskResourceAllocationSettingData", f"{name}/vdb")
    assert gone["VirtualQuantity"] is None and gone["Address"] == missing
    # libvirt adds a PS/2 keyboard to every x86 guest: one more input setting, as libvirt-cim
    keyboard = service.get(f"{PREFIX}_InputResourceAllocationSettingData",
                           f"{name}/keyboard:ps2")
    assert (keyboard["ResourceSubType"], keyboard["BusType"]) == ("keyboard", "ps2")
    mem = service.get(f"{PREFIX}_MemResourceAllocationSettingData", f"{name}/mem")
    assert mem["AllocationUnits"] == "KiloBytes"
