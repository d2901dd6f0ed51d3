"""The libvirt-cim-style client session over HTTP with pywbem against QEMU.

The same session as ``tests/http/test_libvirt_cim_session.py`` runs on a
real libvirtd: the guest made from the templates (64 MiB, an empty raw volume
of the new pool as its disk, a NIC on the new NAT network) really starts,
pauses and is reset, with TCG where there is no KVM.
"""

from __future__ import annotations

import pytest

from tests.http.libvirt_cim_client import Names, run_session
from tests.http.servers import running_server

pytestmark = [pytest.mark.http]


@pytest.fixture(scope="module")
def server(qemu_uri, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("qemu-session"), uris=(qemu_uri,)) as srv:
        yield srv


@pytest.mark.parametrize("form", ["mof", "xml"])
def test_a_libvirt_cim_client_session_on_qemu(server, qemu_conn, pool_dir, form,
                                              scratch_guest_name, scratch_pool_name,
                                              scratch_volume_name, scratch_network_name):
    guest, pool, network = scratch_guest_name(), scratch_pool_name(), scratch_network_name()
    names = Names(guest=guest, pool=pool, network=network, volume=scratch_volume_name(pool),
                  extra_volume=scratch_volume_name(pool), pool_dir=pool_dir)
    run_session(server.connection(), "KVM", form, qemu_conn, names, memory_mib=64)
