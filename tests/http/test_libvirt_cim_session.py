"""A libvirt-cim-style client session over HTTP with pywbem on libvirt's test driver.

Networks, pools, volumes and a guest are made from the templates, driven and
walked as libvirt-cim's clients do, with embedded instances as MOF text and as
CIM-XML objects (``tests/http/libvirt_cim_client.py`` holds the session; the
QEMU run is in ``tests/libvirtd/test_libvirt_cim_session_qemu.py``).
"""

from __future__ import annotations

import secrets

import libvirt
import pytest

from tests.http.libvirt_cim_client import Names, run_session

pytestmark = [pytest.mark.http]


@pytest.fixture
def names(tmp_path):
    tag = secrets.token_hex(3)
    return Names(guest=f"session-guest-{tag}", pool=f"session-pool-{tag}",
                 network=f"session-net-{tag}", volume="root.img", extra_volume="data.img",
                 pool_dir=str(tmp_path / "images"))


@pytest.fixture
def libvirt_conn(names):
    """The test driver the server uses (one per process), left without the session's objects."""
    conn = libvirt.open("test:///default")
    yield conn
    left = []
    if names.guest in [d.name() for d in conn.listAllDomains()]:
        domain = conn.lookupByName(names.guest)
        if domain.isActive():
            domain.destroy()
        domain.undefine()
        left.append(names.guest)
    if names.pool in [p.name() for p in conn.listAllStoragePools()]:
        pool = conn.storagePoolLookupByName(names.pool)
        if pool.isActive():
            pool.destroy()
        pool.undefine()
        left.append(names.pool)
    if names.network in [n.name() for n in conn.listAllNetworks()]:
        network = conn.networkLookupByName(names.network)
        if network.isActive():
            network.destroy()
        network.undefine()
        left.append(names.network)
    conn.close()
    assert not left, f"the session left {left} behind"


@pytest.mark.parametrize("form", ["mof", "xml"])
def test_a_libvirt_cim_client_session_from_templates_to_teardown(server, libvirt_conn, names,
                                                                 form):
    run_session(server.connection(), "Test", form, libvirt_conn, names)
