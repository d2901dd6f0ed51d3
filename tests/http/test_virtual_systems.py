"""Virtual systems end to end: real clients over HTTP, checked again through libvirt.

The server runs in this process on ``test:///default``, whose state every
connection of the process shares, so the tests read libvirt directly to see
what each CIM call really did.
"""

from __future__ import annotations

import shutil

import libvirt
import pytest
import pywbem
from lxml import etree
from pywbem import CIMInstance, CIMInstanceName, Uint16

from tests.http.servers import pywbemcli, wbemcli

pytestmark = [pytest.mark.http]

needs_wbemcli = pytest.mark.skipif(shutil.which("wbemcli") is None,
                                   reason="Debian's sblim-wbemcli is not installed")


@pytest.fixture
def guest_name(request, libvirt_conn):
    name = f"e2e-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    yield name
    try:
        domain = libvirt_conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if domain.isActive():
        domain.destroy()
    domain.undefine()


def service(conn) -> CIMInstanceName:
    (path,) = conn.EnumerateInstanceNames("Test_VirtualSystemManagementService")
    return path


def guest(name: str) -> CIMInstanceName:
    return CIMInstanceName("Test_ComputerSystem",
                           {"CreationClassName": "Test_ComputerSystem", "Name": name},
                           namespace="root/virt")


def settings(name: str) -> tuple[CIMInstance, list[CIMInstance]]:
    """A VSSD and RASDs as a client builds them: plain values, typed by pywbem."""
    vssd = CIMInstance("Test_VirtualSystemSettingData",
                       properties={"VirtualSystemIdentifier": name})
    memory = CIMInstance("Test_MemResourceAllocationSettingData", properties={
        "VirtualQuantity": pywbem.Uint64(256), "AllocationUnits": "byte*2^20"})
    cpus = CIMInstance("Test_ProcResourceAllocationSettingData",
                       properties={"VirtualQuantity": pywbem.Uint64(2)})
    disk = CIMInstance("Test_DiskResourceAllocationSettingData", properties={
        "VirtualDevice": "vda", "Address": "/var/lib/libvirt/images/e2e.img"})
    return vssd, [memory, cpus, disk]


def domain_xml(libvirt_conn, name: str) -> etree._Element:
    xml = libvirt_conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    return etree.fromstring(xml.encode())


def test_a_guest_lives_its_whole_life_through_pywbem(conn, libvirt_conn, guest_name):
    vssd, rasds = settings(guest_name)
    rv, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd,
                                ResourceSettings=rasds)
    assert rv == 0
    assert out["ResultingSystem"]["Name"] == guest_name
    xml = domain_xml(libvirt_conn, guest_name)
    assert xml.findtext("memory") == str(256 * 1024)
    assert xml.findtext("vcpu") == "2"
    assert xml.find("devices/disk/target").get("dev") == "vda"

    for state, libvirt_state in [(2, libvirt.VIR_DOMAIN_RUNNING), (9, libvirt.VIR_DOMAIN_PAUSED),
                                 (2, libvirt.VIR_DOMAIN_RUNNING), (3, libvirt.VIR_DOMAIN_SHUTOFF)]:
        rv, _ = conn.InvokeMethod("RequestStateChange", guest(guest_name),
                                  RequestedState=Uint16(state))
        assert rv == 0
        assert libvirt_conn.lookupByName(guest_name).state()[0] == libvirt_state
        assert conn.GetInstance(guest(guest_name))["EnabledState"] == state

    configuration = CIMInstanceName("Test_VirtualSystemSettingData",
                                    {"InstanceID": f"Test:{guest_name}"}, namespace="root/virt")
    new_disk = CIMInstance("Test_DiskResourceAllocationSettingData", properties={
        "VirtualDevice": "vdb", "Address": "/var/lib/libvirt/images/e2e-data.img"})
    rv, out = conn.InvokeMethod("AddResourceSettings", service(conn),
                                AffectedConfiguration=configuration, ResourceSettings=[new_disk])
    assert rv == 0
    (added,) = out["ResultingResourceSettings"]
    assert added["InstanceID"] == f"{guest_name}/vdb"
    assert "vdb" in {t.get("dev") for t in domain_xml(libvirt_conn, guest_name).iter("target")}

    memory = CIMInstance("Test_MemResourceAllocationSettingData", properties={
        "InstanceID": f"{guest_name}/mem", "VirtualQuantity": pywbem.Uint64(512),
        "AllocationUnits": "byte*2^20"})
    rv, _ = conn.InvokeMethod("ModifyResourceSettings", service(conn), ResourceSettings=[memory])
    assert rv == 0
    assert domain_xml(libvirt_conn, guest_name).findtext("currentMemory") == str(512 * 1024)

    rv, _ = conn.InvokeMethod("RemoveResourceSettings", service(conn), ResourceSettings=[added])
    assert rv == 0
    assert "vdb" not in {t.get("dev") for t in domain_xml(libvirt_conn, guest_name).iter("target")}

    rv, _ = conn.InvokeMethod("DestroySystem", service(conn), AffectedSystem=guest(guest_name))
    assert rv == 0
    assert guest_name not in libvirt_conn.listDefinedDomains()
    with pytest.raises(pywbem.CIMError) as error:
        conn.GetInstance(guest(guest_name))
    assert error.value.status_code == pywbem.CIM_ERR_NOT_FOUND


def test_define_system_takes_settings_as_mof_text(conn, libvirt_conn, guest_name):
    """libvirt's cimtest sends embedded instances as MOF; they are typed by the class."""
    vssd = f'instance of Test_VirtualSystemSettingData {{ VirtualSystemIdentifier = "{guest_name}"; }};'
    memory = ('instance of Test_MemResourceAllocationSettingData { VirtualQuantity = 128; '
              'AllocationUnits = "MegaBytes"; };')
    rv, out = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd,
                                ResourceSettings=[memory])
    assert rv == 0
    assert domain_xml(libvirt_conn, guest_name).findtext("currentMemory") == str(128 * 1024)


def mof(classname: str, **values: object) -> str:
    """An embedded instance written as cimtest writes it: numbers bare, strings quoted."""
    def text(value: object) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        return str(value) if isinstance(value, int) else f'"{value}"'

    return (f"instance of {classname} {{\n"
            + "".join(f"{name} = {text(value)};\n" for name, value in values.items()) + "};")


def test_define_system_takes_libvirt_cims_dialect_as_mof(conn, libvirt_conn, guest_name):
    vssd = mof("Test_VirtualSystemSettingData", InstanceID=f"Test:{guest_name}",
               VirtualSystemIdentifier=guest_name, CreationClassName="Test_VirtualSystemSettingData",
               isFullVirt=True, BootDevice="hd", BootDevices="hd", EnableACPI=False)
    rasds = [
        mof("Test_DiskResourceAllocationSettingData", ResourceType=17, VirtualDevice="vda",
            InstanceID=0, Address="/var/lib/libvirt/images/e2e.img"),
        mof("Test_ProcResourceAllocationSettingData", ResourceType=3, VirtualQuantity=3,
            Weight=124, Limit=512, InstanceID=f"{guest_name}/proc"),
        mof("Test_MemResourceAllocationSettingData", ResourceType=4, VirtualQuantity=128,
            AllocationUnits="MegaBytes", InstanceID=f"{guest_name}/mem"),
        mof("Test_ControllerResourceAllocationSettingData", ResourceType=32771,
            ResourceSubType="pci", Index=0, Model="pci-root",
            InstanceID=f"{guest_name}/controller:pci:0"),
    ]
    rv, _ = conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd,
                              ResourceSettings=rasds, ReferenceConfiguration=" ")
    assert rv == 0
    xml = domain_xml(libvirt_conn, guest_name)
    assert (xml.findtext("memory"), xml.findtext("currentMemory")) == ("131072", "131072")
    assert xml.findtext("vcpu") == "3" and xml.findtext("cputune/global_quota") == "512000"
    assert [boot.get("dev") for boot in xml.iterfind("os/boot")] == ["hd"]
    rasd = CIMInstanceName("Test_MemResourceAllocationSettingData",
                           {"InstanceID": f"{guest_name}/mem"}, namespace="root/virt")
    mem = conn.GetInstance(rasd)
    assert (mem["AllocationUnits"], mem["VirtualQuantity"], mem["Limit"]) == (
        "KiloBytes", 131072, 131072)
    proc = conn.GetInstance(CIMInstanceName("Test_ProcResourceAllocationSettingData",
                                            {"InstanceID": f"{guest_name}/proc"},
                                            namespace="root/virt"))
    assert (proc["VirtualQuantity"], proc["Limit"], proc["Weight"]) == (3, 512, 124)


def test_a_nic_on_a_missing_network_is_defined_and_comes_from_no_pool(conn, libvirt_conn,
                                                                     guest_name):
    vssd, rasds = settings(guest_name)
    rasds.append(CIMInstance("Test_NetResourceAllocationSettingData", properties={
        "NetworkType": "network", "PoolID": "NetworkPool/no-such-network",
        "Address": "52:54:00:aa:bb:07", "ResourceType": Uint16(10)}))
    conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd, ResourceSettings=rasds)
    assert guest_name in libvirt_conn.listDefinedDomains()
    nic = CIMInstanceName("Test_NetResourceAllocationSettingData",
                          {"InstanceID": f"{guest_name}/52:54:00:aa:bb:07"}, namespace="root/virt")
    with pytest.raises(pywbem.CIMError) as error:
        conn.AssociatorNames(nic, AssocClass="Test_ResourceAllocationFromPool")
    assert error.value.status_code == pywbem.CIM_ERR_FAILED
    assert "Unable to determine pool of" in error.value.status_description


def test_an_invalid_setting_defines_nothing(conn, libvirt_conn, guest_name):
    vssd, rasds = settings(guest_name)
    rasds[0]["AllocationUnits"] = "furlongs"
    with pytest.raises(pywbem.CIMError) as error:
        conn.InvokeMethod("DefineSystem", service(conn), SystemSettings=vssd,
                          ResourceSettings=rasds)
    assert error.value.status_code == pywbem.CIM_ERR_INVALID_PARAMETER
    assert "AllocationUnits" in error.value.status_description
    assert guest_name not in libvirt_conn.listDefinedDomains()


def test_every_guest_conforms_to_the_virtual_system_profile(server):
    wbem = pywbem.WBEMServer(server.connection())
    (profile,) = wbem.get_selected_profiles("DMTF", "Virtual System")
    central = wbem.get_central_instances(profile.path, "CIM_ComputerSystem", "CIM_System",
                                         ["CIM_HostedDependency"])
    assert "test" in {path["Name"] for path in central}
    (host_profile,) = wbem.get_selected_profiles("DMTF", "System Virtualization")
    hosts = wbem.get_central_instances(host_profile.path)
    assert {path.classname for path in hosts} == {"Test_HostSystem"}


@pytest.mark.parametrize(("name", "pool"), [
    ("Processor Resource Virtualization", "ProcessorPool/0"),
    ("Memory Resource Virtualization", "MemoryPool/0"),
    ("Storage Resource Virtualization", "DiskPool/0"),
    ("Ethernet Port Resource Virtualization", "NetworkPool/0"),
])
def test_resource_type_profiles_lead_to_their_pools(server, name, pool):
    wbem = pywbem.WBEMServer(server.connection())
    (profile,) = wbem.get_selected_profiles("DMTF", name)
    central = wbem.get_central_instances(profile.path)
    assert pool in {path["InstanceID"] for path in central}


@pytest.mark.clients
def test_pywbemcli_adds_a_disk_given_as_mof(server, libvirt_conn, guest_name):
    libvirt_conn.defineXML(f"<domain type='test'><name>{guest_name}</name><memory>65536</memory>"
                           "<os><type>hvm</type></os></domain>")
    result = pywbemcli(
        server, "instance", "invokemethod", str(service(server.connection())).split(":", 1)[1],
        "AddResourceSettings",
        "-p", f'AffectedConfiguration=Test_VirtualSystemSettingData.InstanceID="Test:{guest_name}"',
        "-p", "ResourceSettings=instance of Test_DiskResourceAllocationSettingData "
              '{ VirtualDevice = "vdc"; Address = "/var/lib/libvirt/images/c.img"; };')
    assert result.returncode == 0, result.stderr + result.stdout
    assert "ReturnValue=0" in result.stdout
    assert "vdc" in {t.get("dev") for t in domain_xml(libvirt_conn, guest_name).iter("target")}


@pytest.mark.clients
@needs_wbemcli
def test_wbemcli_calls_request_state_change(server, libvirt_conn, guest_name):
    libvirt_conn.defineXML(f"<domain type='test'><name>{guest_name}</name><memory>65536</memory>"
                           "<os><type>hvm</type></os></domain>")
    path = f'root/virt:Test_ComputerSystem.CreationClassName="Test_ComputerSystem",Name="{guest_name}"'
    result = wbemcli(server, "cm", path, "RequestStateChange.RequestedState=2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("RequestStateChange: 0")
    assert libvirt_conn.lookupByName(guest_name).state()[0] == libvirt.VIR_DOMAIN_RUNNING
    state = wbemcli(server, "gi", path, "EnabledState")
    assert "EnabledState=2" in state.stdout


def test_a_guest_changed_behind_the_servers_back_is_seen_by_the_next_request(
        conn, libvirt_conn, guest_name):
    """A request about one cached guest asks libvirt without a lookup; what libvirt changed
    meanwhile (with or without an event: memory, a stop, a rename) shows in the next answer."""
    domain = libvirt_conn.defineXML(f"<domain type='test'><name>{guest_name}</name>"
                                    "<memory>65536</memory><os><type>hvm</type></os></domain>")
    domain.create()
    memory = CIMInstanceName("Test_MemResourceAllocationSettingData",
                             {"InstanceID": f"{guest_name}/mem"}, namespace="root/virt")
    assert conn.GetInstance(memory)["VirtualQuantity"] == 65536  # KiB
    domain.setMemoryFlags(32768, libvirt.VIR_DOMAIN_AFFECT_LIVE)  # libvirt raises no event
    assert conn.GetInstance(memory)["VirtualQuantity"] == 32768
    assert conn.GetInstance(guest(guest_name))["EnabledState"] == 2
    domain.destroy()
    assert conn.GetInstance(guest(guest_name))["EnabledState"] == 3
    renamed = f"{guest_name}-renamed"
    domain.rename(renamed, 0)
    try:
        with pytest.raises(pywbem.CIMError) as missing:
            conn.GetInstance(guest(guest_name))
        assert missing.value.status_code == pywbem.CIM_ERR_NOT_FOUND
        found = conn.ExecQuery("WQL", f"SELECT Name FROM Test_ComputerSystem "
                                      f"WHERE Name = '{renamed}'")
        assert [inst["Name"] for inst in found] == [renamed]
    finally:
        libvirt_conn.lookupByName(renamed).undefine()
