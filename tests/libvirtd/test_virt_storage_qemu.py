"""Storage pools and volumes through the adapter (providers.virt.storage) on a real libvirtd:
folders built, volumes made outside libvirt found once refreshed, failed pools removed."""

from __future__ import annotations

import os

import libvirt
import pytest
from lxml.builder import E
from pywbem import CIMError


def test_a_dir_pool_is_built_and_a_volume_made_outside_shows_once_refreshed(
        hypervisor, scratch_pool_name, pool_dir):
    name, folder = scratch_pool_name(), pool_dir
    hypervisor.create_storage_pool(E.pool(E.name(name), E.target(E.path(folder)), type="dir"),
                                   autostart=False)
    pool = hypervisor.storage_pool(name)
    assert os.path.isdir(folder) and (pool.is_active, pool.autostart) == (True, False)
    with open(os.path.join(folder, "outside.img"), "wb") as image:
        image.truncate(4096)
    assert hypervisor.volumes(pool) == []
    hypervisor.refresh_storage_pool(pool)
    [volume] = hypervisor.volumes(pool)
    assert (volume.name, volume.path, volume.pool) == ("outside.img",
                                                       os.path.join(folder, "outside.img"), name)
    hypervisor.delete_volume(volume)
    assert not os.path.exists(volume.path)


def test_a_pool_that_does_not_start_is_removed_again(hypervisor, qemu_conn, scratch_pool_name):
    name = scratch_pool_name()
    missing = "/dev/virtcim-no-such-disk"
    xml = E.pool(E.name(name), E.source(E.device(path=missing)), E.target(E.path("/dev")),
                 type="disk")
    with pytest.raises(CIMError):
        hypervisor.create_storage_pool(xml, autostart=False)
    with pytest.raises(libvirt.libvirtError):
        qemu_conn.storagePoolLookupByName(name)
