"""Storage pools, volumes and networks through the adapter (providers.virt.storage),
on libvirt's test driver: records in, records out, no libvirt handle in a caller's hands."""

from __future__ import annotations

from types import SimpleNamespace

import libvirt
import pytest
from lxml.builder import E
from pywbem import CIM_ERR_NOT_FOUND, CIMError


@pytest.fixture
def pool(hypervisor, libvirt_conn, tmp_path):
    """A running dir pool named ``scratch`` in a folder of its own, removed afterwards."""
    xml = E.pool(E.name("scratch"), E.target(E.path(str(tmp_path / "images"))), type="dir")
    hypervisor.create_storage_pool(xml, autostart=True)
    yield hypervisor.storage_pool("scratch")
    if "scratch" in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools():
        handle = libvirt_conn.storagePoolLookupByName("scratch")
        handle.destroy()
        handle.undefine()


def volume_xml(name: str, capacity: int = 1 << 20):
    return E.volume(E.name(name), E.capacity(str(capacity), unit="bytes"),
                    E.target(E.format(type="raw")))


def test_a_created_pool_is_running_and_autostarted(pool, tmp_path):
    assert (pool.is_active, pool.autostart, pool.pool_type) == (True, True, "dir")
    assert pool.target_path == str(tmp_path / "images")


def test_volumes_are_created_found_listed_and_deleted(hypervisor, pool):
    made = hypervisor.create_volume(pool, volume_xml("a.img"))
    assert (made.name, made.pool, made.capacity, made.image_format) == ("a.img", "scratch",
                                                                        1 << 20, "raw")
    assert hypervisor.volume(made.path) == made
    assert hypervisor.volume_in(pool, "a.img") == made
    assert hypervisor.volumes(pool) == [made]
    assert hypervisor.volume_paths(pool) == [made.path]
    hypervisor.delete_volume(made)
    with pytest.raises(CIMError) as error:
        hypervisor.volume_in(pool, "a.img")
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "volume 'a.img' in storage pool 'scratch'" in error.value.status_description


def test_a_deleted_pool_is_stopped_and_undefined_with_its_folder_kept(hypervisor, pool,
                                                                      libvirt_conn):
    hypervisor.delete_storage_pool("scratch")
    assert "scratch" not in libvirt_conn.listStoragePools() + libvirt_conn.listDefinedStoragePools()
    with pytest.raises(CIMError) as error:
        hypervisor.delete_storage_pool("scratch")
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_networks_are_created_running_and_deleted(hypervisor, libvirt_conn):
    xml = E.network(E.name("scratchnet"), E.bridge(name="virbr77"),
                    E.ip(E.dhcp(E.range(start="10.77.0.2", end="10.77.0.9")),
                         address="10.77.0.1", netmask="255.255.255.0"))
    hypervisor.create_network(xml)
    try:
        network = hypervisor.network("scratchnet")
        assert (network.is_active, network.bridge, network.forward_mode) == (True, "virbr77", None)
    finally:
        hypervisor.delete_network("scratchnet")
    assert "scratchnet" not in libvirt_conn.listNetworks() + libvirt_conn.listDefinedNetworks()


def test_a_network_that_cannot_be_defined_fails_as_libvirt_says(hypervisor):
    with pytest.raises(CIMError) as error:
        hypervisor.create_network(E.network(E.name("default")))  # the test driver's own
    assert error.value.status_code != CIM_ERR_NOT_FOUND


class _Volume:
    """A volume handle; ``gone`` ones were deleted since their pool listed them."""

    def __init__(self, path: str, gone: bool = False) -> None:
        self._path, self._gone = path, gone

    def path(self) -> str:
        if self._gone:
            error = libvirt.libvirtError("Storage volume not found")
            error.err = (libvirt.VIR_ERR_NO_STORAGE_VOL,)
            raise error
        return self._path


def test_a_volume_deleted_since_its_pool_listed_it_is_left_out(hypervisor):
    """A pool sharing its folder with another lists a volume deleted through the other."""
    listing = [_Volume("/images/a.img"), _Volume("/images/gone.img", gone=True),
               _Volume("/images/b.img")]
    pool = SimpleNamespace(name="shared", handle=SimpleNamespace(listAllVolumes=lambda: listing))
    assert hypervisor.volume_paths(pool) == ["/images/a.img", "/images/b.img"]


def test_the_hypervisor_type_is_libvirts_name_for_it(hypervisor):
    assert hypervisor.hypervisor_type() == "TEST"
