"""ResourcePoolConfigurationService over the test driver, checked through CIM and libvirt."""

from __future__ import annotations

import libvirt
import pytest
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint16,
)

from providers.classes import VIRT_NAMESPACE


def embedded(classname: str, **values) -> CIMInstance:
    """An embedded instance as a client sends it: values as text, typed by the server."""
    def text(value):
        return [str(item) for item in value] if isinstance(value, list) else str(value)
    return CIMInstance(f"Test_{classname}", properties={k: text(v) for k, v in values.items()})


def pool(kind: str, name: str) -> CIMInstanceName:
    return CIMInstanceName(f"Test_{kind}Pool", {"InstanceID": f"{kind}Pool/{name}"},
                           namespace=VIRT_NAMESPACE)


@pytest.fixture
def service(cim):
    [path] = cim.names("Test_ResourcePoolConfigurationService")
    return path


@pytest.fixture
def call(cim, service):
    return lambda method, **params: cim.invoke(service, method, **params)


@pytest.fixture
def dir_pool(call, tmp_path, libvirt_conn):
    target = tmp_path / "images"
    result = call("CreateChildResourcePool", ElementName="scratch", Settings=[
        embedded("DiskPoolResourceAllocationSettingData", Type=1, Path=str(target))])
    assert result.return_value == 0
    yield result.out_params["Pool"], str(target)
    if "scratch" in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools():
        handle = libvirt_conn.storagePoolLookupByName("scratch")
        handle.destroy()
        handle.undefine()


def failure(action) -> CIMError:
    with pytest.raises(CIMError) as error:
        action()
    return error.value


def test_service_and_capabilities_are_served_and_linked(cim, service):
    [caps] = cim.enumerate("Test_ResourcePoolConfigurationCapabilities")
    assert caps["InstanceID"] == "RPCC"
    assert list(caps["SynchronousMethodsSupported"]) == [3, 4]
    [host] = cim.names("Test_HostSystem")
    hosted = cim.associator_names(host, AssocClass="Test_HostedService",
                                  ResultClass="Test_ResourcePoolConfigurationService")
    assert [s["Name"] for s in hosted] == ["RPCS"]
    linked = cim.associator_names(service, AssocClass="Test_ElementCapabilities")
    assert [c["InstanceID"] for c in linked] == ["RPCC"]


def test_a_dir_pool_is_created_started_and_deleted(cim, call, dir_pool, libvirt_conn):
    path, target = dir_pool
    assert path["InstanceID"] == "DiskPool/scratch"
    created = cim.get(path)
    assert (created["Path"], created["OtherResourceType"]) == (target, "dir")
    assert libvirt_conn.storagePoolLookupByName("scratch").isActive()
    assert call("DeleteResourcePool", Pool=path).return_value == 0
    assert "scratch" not in libvirt_conn.listStoragePools() + \
        libvirt_conn.listDefinedStoragePools()


@pytest.mark.parametrize(("fmt", "name"), [(1, "raw.img"), (2, "disk.qcow2")])
def test_volumes_are_created_in_any_units_and_deleted(cim, call, dir_pool, libvirt_conn, fmt,
                                                      name):
    path, target = dir_pool
    result = call("CreateResourceInPool", Pool=path, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", VolumeName=name, FormatType=fmt,
        Capacity=70000, AllocationUnits="byte*2^10"))
    assert result.return_value == 0
    resource = result.out_params["Resource"]
    assert resource["InstanceID"] == f"{target}/{name}"
    volume = cim.get(resource)
    assert (volume["Capacity"], volume["FormatType"]) == (70000 * 1024, fmt)
    handle = libvirt_conn.storagePoolLookupByName("scratch").storageVolLookupByName(name)
    assert handle.info()[1] == 70000 * 1024
    assert call("DeleteResourceInPool", Pool=path, Resource=volume).return_value == 0
    assert name not in libvirt_conn.storagePoolLookupByName("scratch").listVolumes()


def test_a_volume_is_named_by_its_path_and_deleted_by_a_disk_setting(call, dir_pool,
                                                                     libvirt_conn):
    path, target = dir_pool
    call("CreateResourceInPool", Pool=path, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", Path=f"{target}/by-path.img", Capacity=1,
        AllocationUnits="MegaBytes"))
    assert libvirt_conn.storagePoolLookupByName("scratch").listVolumes() == ["by-path.img"]
    disk = embedded("DiskResourceAllocationSettingData", Address=f"{target}/by-path.img")
    assert call("DeleteResourceInPool", Pool=path, Resource=disk).return_value == 0
    assert libvirt_conn.storagePoolLookupByName("scratch").listVolumes() == []


def test_refresh_resources_in_pool_completes(call, dir_pool):
    assert call("RefreshResourcesInPool", Pool=dir_pool[0]).return_value == 0


def test_a_nat_network_is_created_with_its_range_and_deleted(cim, call, libvirt_conn):
    result = call("CreateChildResourcePool", ElementName="scratch-net", Settings=[
        embedded("NetPoolResourceAllocationSettingData", Address="10.77.1.1",
                 Netmask="255.255.255.0", IPRangeStart="10.77.1.10", IPRangeEnd="10.77.1.99",
                 ForwardMode=1)])
    assert result.return_value == 0
    path = result.out_params["Pool"]
    assert cim.get(path)["InstanceID"] == "NetworkPool/scratch-net"
    xml = libvirt_conn.networkLookupByName("scratch-net").XMLDesc()
    assert "mode='nat'" in xml and "start='10.77.1.10' end='10.77.1.99'" in xml
    assert call("DeleteResourcePool", Pool=path).return_value == 0
    assert "scratch-net" not in libvirt_conn.listNetworks() + libvirt_conn.listDefinedNetworks()


def test_a_network_template_picked_as_libvirt_cims_clients_do_creates_a_network(
        cim, call, libvirt_conn):
    caps = CIMInstanceName("Test_AllocationCapabilities", {"InstanceID": "NetworkPool/0"})
    found = cim.associators(caps, ResultClass="Test_NetPoolResourceAllocationSettingData")
    [template] = [t for t in found if t["InstanceID"] == "Default" and t["ForwardMode"] == 2
                  and not t["ForwardDevice"]]
    for name, value in {"PoolID": "NetworkPool/from-template", "Address": "192.168.77.1",
                        "IPRangeStart": "192.168.77.2", "IPRangeEnd": "192.168.77.254"}.items():
        template[name] = value
    result = call("CreateChildResourcePool", ElementName="from-template", Settings=[template])
    try:
        assert result.return_value == 0
        xml = libvirt_conn.networkLookupByName("from-template").XMLDesc()
        assert "192.168.77.1" in xml and "mode='route'" in xml
    finally:
        call("DeleteResourcePool", Pool=result.out_params["Pool"])


def test_a_storage_pool_template_with_a_uint16_autostart_creates_an_autostarted_pool(
        cim, call, libvirt_conn, tmp_path):
    caps = CIMInstanceName("Test_AllocationCapabilities", {"InstanceID": "DiskPool/0"})
    found = cim.associators(caps, ResultClass="Test_DiskPoolResourceAllocationSettingData")
    [template] = [t for t in found if t["InstanceID"] == "Default" and t["Type"] == 1]
    template["Path"] = str(tmp_path)
    template["Autostart"] = Uint16(1)
    result = call("CreateChildResourcePool", ElementName="auto", Settings=[template])
    try:
        assert result.return_value == 0
        assert libvirt_conn.storagePoolLookupByName("auto").autostart() == 1
        created = cim.get(result.out_params["Pool"])
        assert (created["Autostart"], type(created["Autostart"])) == (1, Uint16)
    finally:
        handle = libvirt_conn.storagePoolLookupByName("auto")
        handle.destroy()
        handle.undefine()


@pytest.mark.parametrize("method", ["CreateResourcePool", "AddResourcesToResourcePool",
                                    "RemoveResourcesFromResourcePool"])
def test_the_methods_libvirt_cim_left_out_are_not_supported(cim, service, method):
    error = failure(lambda: cim.invoke(service, method))
    assert error.status_code == CIM_ERR_NOT_SUPPORTED
    assert method in error.status_description


def test_a_volume_is_created_from_its_pools_folder_and_volume_name(cim, call, dir_pool,
                                                                   libvirt_conn):
    path, target = dir_pool
    result = call("CreateResourceInPool", Pool=path, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", ResourceType=32768, Path=target,
        VolumeName="named.img", Capacity=1, AllocationUnits="byte*2^20"))
    assert result.return_value == 0
    assert result.out_params["Resource"]["InstanceID"] == f"{target}/named.img"
    assert libvirt_conn.storagePoolLookupByName("scratch").listVolumes() == ["named.img"]
    assert cim.get(result.out_params["Resource"])["ResourceType"] == 32768


def test_a_volume_setting_with_either_volume_resource_type_creates_a_volume(call, dir_pool,
                                                                           libvirt_conn):
    path, target = dir_pool
    for rtype, name in ((32768, "libvirt-cim.img"), (32, "dmtf.img")):
        assert call("CreateResourceInPool", Pool=path, Settings=embedded(
            "StorageVolumeResourceAllocationSettingData", ResourceType=rtype,
            Path=f"{target}/{name}",
            Capacity=1, AllocationUnits="byte*2^20")).return_value == 0
    assert sorted(libvirt_conn.storagePoolLookupByName("scratch").listVolumes()) == [
        "dmtf.img", "libvirt-cim.img"]


def networks(conn) -> set[str]:
    return set(conn.listNetworks() + conn.listDefinedNetworks())


def storage_pools(conn) -> set[str]:
    return set(conn.listStoragePools() + conn.listDefinedStoragePools())


@pytest.mark.parametrize(("settings", "message"), [
    ({"Type": 99, "Path": "/x"}, "Type 99 is not a storage pool type"),
    ({"Type": 1}, "Path"),
    ({"Type": 2, "Path": "/mnt/x"}, "exactly one DevicePaths"),
    ({"Type": 3, "Path": "/mnt/x", "Host": "nfs.example.org"}, "SourceDirectory is required"),
])
def test_bad_storage_pool_settings_are_refused_and_define_nothing(call, libvirt_conn, settings,
                                                                  message):
    before = storage_pools(libvirt_conn)
    error = failure(lambda: call("CreateChildResourcePool", ElementName="bad", Settings=[
        embedded("DiskPoolResourceAllocationSettingData", **settings)]))
    assert error.status_code == CIM_ERR_INVALID_PARAMETER
    assert message in error.status_description
    assert storage_pools(libvirt_conn) == before


@pytest.mark.parametrize(("settings", "message"), [
    ({"Address": "192.168.122.77", "Netmask": "255.255.0.0"}, "overlaps 192.168.122.0/24"),
    ({"Address": "10.1.1.0"}, "is not a host address"),
    ({"Address": "10.1.1.1", "IPRangeStart": "10.1.2.2", "IPRangeEnd": "10.1.2.9"},
     "is not a range of host addresses"),
    ({"Address": "10.1.1.1", "IPRangeStart": "10.1.1.2"}, "go together"),
    ({"Address": "10.1.1.1", "ForwardMode": 7}, "ForwardMode 7"),
])
def test_bad_network_settings_are_refused_and_define_nothing(call, libvirt_conn, settings,
                                                             message):
    before = networks(libvirt_conn)
    error = failure(lambda: call("CreateChildResourcePool", ElementName="bad-net", Settings=[
        embedded("NetPoolResourceAllocationSettingData", **settings)]))
    assert error.status_code == CIM_ERR_INVALID_PARAMETER
    assert message in error.status_description
    assert networks(libvirt_conn) == before


def test_duplicate_pool_and_network_names_are_refused(call, libvirt_conn):
    error = failure(lambda: call("CreateChildResourcePool", ElementName="default-pool", Settings=[
        embedded("DiskPoolResourceAllocationSettingData", Type=1, Path="/elsewhere")]))
    assert error.status_code == CIM_ERR_FAILED  # InvokeMethod has no ALREADY_EXISTS
    error = failure(lambda: call("CreateChildResourcePool", ElementName="default", Settings=[
        embedded("NetPoolResourceAllocationSettingData", Address="10.5.5.1")]))
    assert error.status_code == CIM_ERR_FAILED
    assert "default" in networks(libvirt_conn)


def test_bad_volumes_are_refused_and_create_nothing(call, dir_pool, libvirt_conn):
    path, target = dir_pool

    def create(**values):
        return failure(lambda: call("CreateResourceInPool", Pool=path, Settings=embedded(
            "StorageVolumeResourceAllocationSettingData", **values)))

    outside = create(Path="/etc/evil.img", Capacity=1)
    assert outside.status_code == CIM_ERR_INVALID_PARAMETER
    assert "outside storage pool 'scratch'" in outside.status_description
    too_big = create(VolumeName="huge.img", Capacity=2**40, AllocationUnits="byte*2^20")
    assert too_big.status_code == CIM_ERR_INVALID_PARAMETER
    assert "larger than the" in too_big.status_description
    assert create(VolumeName="x.img", Capacity=1, AllocationUnits="furlongs").status_code == \
        CIM_ERR_INVALID_PARAMETER
    bad_format = create(VolumeName="x.img", Capacity=1, FormatType=9)
    assert bad_format.status_code == CIM_ERR_FAILED
    assert "Unable to generate XML for new resource" in bad_format.status_description
    assert libvirt_conn.storagePoolLookupByName("scratch").listVolumes() == []
    call("CreateResourceInPool", Pool=path, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", VolumeName="one.img", Capacity=4096))
    duplicate = create(VolumeName="one.img", Capacity=1)
    assert duplicate.status_code == CIM_ERR_FAILED
    assert "Unable to create storage volume" in duplicate.status_description
    assert "already exists" in duplicate.status_description


def test_a_volume_name_with_a_path_elsewhere_goes_in_the_pools_folder(call, dir_pool,
                                                                     libvirt_conn):
    path, target = dir_pool
    result = call("CreateResourceInPool", Pool=path, Settings=embedded(
        "StorageVolumeResourceAllocationSettingData", VolumeName="elsewhere.img",
        Path="/tmp/elsewhere.img", Capacity=1, AllocationUnits="byte*2^20"))
    assert result.out_params["Resource"]["InstanceID"] == f"{target}/elsewhere.img"
    assert libvirt_conn.storagePoolLookupByName("scratch").listVolumes() == ["elsewhere.img"]


def test_deleting_a_volume_that_is_not_there_fails_as_libvirt_cim_failed(call, dir_pool):
    path, _ = dir_pool
    gone = failure(lambda: call("DeleteResourceInPool", Pool=path, Resource=embedded(
        "DiskResourceAllocationSettingData", Address="Junkvol_path")))
    assert gone.status_code == CIM_ERR_FAILED
    assert "Unable to delete resource" in gone.status_description
    nameless = failure(lambda: call("DeleteResourceInPool", Pool=path, Resource=embedded(
        "DiskResourceAllocationSettingData", VirtualDevice="vda")))
    assert nameless.status_code == CIM_ERR_FAILED
    assert "Missing Address in resource RASD" in nameless.status_description
    for parameter, params in (("Resource", {"Pool": path}), ("Pool", {"Resource": embedded(
            "DiskResourceAllocationSettingData", Address="/x")})):
        missing = failure(lambda params=params: call("DeleteResourceInPool", **params))
        assert missing.status_code == CIM_ERR_INVALID_PARAMETER
        assert f"Missing argument `{parameter}'" in missing.status_description


def test_primordial_and_unknown_pools_cannot_be_changed(call):
    assert failure(lambda: call("DeleteResourcePool", Pool=pool("Disk", "0"))).status_code == \
        CIM_ERR_INVALID_PARAMETER
    assert failure(lambda: call("DeleteResourcePool", Pool=pool("Disk", "gone"))).status_code \
        == CIM_ERR_NOT_FOUND
    network = failure(lambda: call("CreateResourceInPool", Pool=pool("Network", "default"),
                                   Settings=embedded("StorageVolumeResourceAllocationSettingData",
                                                     VolumeName="v", Capacity=1)))
    assert network.status_code == CIM_ERR_INVALID_PARAMETER


def test_a_pool_that_fails_to_start_is_undefined(call, libvirt_conn, monkeypatch, tmp_path):
    def refuse(self, flags=0):
        raise libvirt.libvirtError("cannot start: injected")

    monkeypatch.setattr(libvirt.virStoragePool, "create", refuse)
    before = storage_pools(libvirt_conn)
    error = failure(lambda: call("CreateChildResourcePool", ElementName="doomed", Settings=[
        embedded("DiskPoolResourceAllocationSettingData", Type=1, Path=str(tmp_path / "d"))]))
    assert "cannot start storage pool 'doomed'" in error.status_description
    assert storage_pools(libvirt_conn) == before


def remove_pool(libvirt_conn, name: str) -> None:
    if name in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools():
        handle = libvirt_conn.storagePoolLookupByName(name)
        if handle.isActive():
            handle.destroy()
        handle.undefine()


@pytest.mark.parametrize(("pool_type", "settings", "source"), [
    (2, {"DevicePaths": ["/dev/vdz1"]}, "<device path='/dev/vdz1'/>"),
    (3, {"Host": "nfs.example", "SourceDirectory": "/export/images"},
     "<host name='nfs.example'/><dir path='/export/images'/>"),
    (4, {"DevicePaths": ["/dev/vdz"]}, "<device path='/dev/vdz'/>"),
    (5, {"Host": "san.example", "DevicePaths": ["iqn.2026-11.example:disks"]},
     "<host name='san.example'/><device path='iqn.2026-11.example:disks'/>"),
    (6, {"DevicePaths": ["/dev/vdy", "/dev/vdx"]},
     "<device path='/dev/vdy'/><device path='/dev/vdx'/>"),
    (7, {"AdapterName": "host3"}, "<adapter type='scsi_host' name='host3'/>"),
], ids=["fs", "netfs", "disk", "iscsi", "logical", "scsi"])
def test_every_storage_pool_type_is_defined_with_its_source(call, libvirt_conn, pool_type,
                                                            settings, source):
    name = f"scratch-type-{pool_type}"
    try:
        result = call("CreateChildResourcePool", ElementName=name, Settings=[
            embedded("DiskPoolResourceAllocationSettingData", Type=pool_type,
                     Path="/var/lib/virtcim-test/pool", **settings)])
        assert result.return_value == 0
        xml = libvirt_conn.storagePoolLookupByName(name).XMLDesc(0)
        flat = "".join(line.strip() for line in xml.splitlines())
        assert source in flat
        # libvirt places a volume group's volumes under /dev/<group>, whatever was asked.
        target = f"/dev/{name}" if pool_type == 6 else "/var/lib/virtcim-test/pool"
        assert f"<target><path>{target}</path>" in flat
    finally:
        remove_pool(libvirt_conn, name)


@pytest.mark.parametrize(("mode", "forward"), [(0, None), (2, "route")],
                         ids=["isolated", "routed"])
def test_isolated_and_routed_networks_forward_as_asked(call, libvirt_conn, mode, forward):
    name = f"scratch-net-{mode}"
    result = call("CreateChildResourcePool", ElementName=name, Settings=[
        embedded("NetPoolResourceAllocationSettingData", Address=f"10.78.{mode}.1",
                 ForwardMode=mode)])
    try:
        assert result.return_value == 0
        xml = libvirt_conn.networkLookupByName(name).XMLDesc()
        if forward is None:
            assert "<forward" not in xml
        else:
            assert f"mode='{forward}'" in xml
        assert f"address='10.78.{mode}.1'" in xml
    finally:
        call("DeleteResourcePool", Pool=result.out_params["Pool"])
    assert name not in libvirt_conn.listNetworks() + libvirt_conn.listDefinedNetworks()


def test_a_pool_a_guest_uses_is_not_deleted(call, dir_pool, libvirt_conn, define_guest):
    path, target = dir_pool
    guest = define_guest("pool-user")
    xml = guest.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace(
        "</devices>", f"<disk type='file' device='disk'><source file='{target}/a.img'/>"
                      "<target dev='vdb'/></disk></devices>")
    libvirt_conn.defineXML(xml)
    assert call("DeleteResourcePool", Pool=path).return_value == 6  # In Use
    assert "scratch" in libvirt_conn.listStoragePools()
    libvirt_conn.lookupByName("pool-user").undefine()
    assert call("DeleteResourcePool", Pool=path).return_value == 0


@pytest.mark.parametrize("key", ["CreationClassName", "SystemCreationClassName", "Name",
                                 "SystemName"])
def test_a_wrong_key_of_the_service_is_named_in_the_not_found_error(cim, service, key):
    wrong = service.copy()
    wrong.keybindings[key] = "wrong"
    error = failure(lambda: cim.get(wrong))
    assert error.status_code == CIM_ERR_NOT_FOUND
    assert f"No such instance ({key})" in error.status_description


def test_a_wrong_capabilities_id_is_named_in_the_not_found_error(cim):
    error = failure(lambda: cim.get(CIMInstanceName(
        "Test_ResourcePoolConfigurationCapabilities", {"InstanceID": "wrong"},
        namespace=VIRT_NAMESPACE)))
    assert (error.status_code, "No such instance (InstanceID)" in error.status_description) == (
        CIM_ERR_NOT_FOUND, True)
