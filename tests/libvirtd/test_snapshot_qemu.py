"""The VirtualSystemSnapshotService over HTTP on QEMU: libvirt's managed save of a running
tiny guest, the guest started from it, and the saved state discarded."""

from __future__ import annotations

from pathlib import Path

import pytest
import pywbem

from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

MEMORY_GUEST_OFF = pywbem.Uint16(32769)
COMPLETED = 7
ENABLED, ENABLED_BUT_OFFLINE = 2, 6


def test_a_guest_is_saved_started_from_its_state_then_saved_and_its_state_discarded(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    domain = qemu_conn.defineXML(tiny_guest_xml(name))
    domain.create()
    with running_server(tmp_path, uris=(qemu_uri,)) as server:
        conn = server.connection()
        [service] = conn.EnumerateInstanceNames("KVM_VirtualSystemSnapshotService")
        guest = pywbem.CIMInstanceName("KVM_ComputerSystem", {
            "CreationClassName": "KVM_ComputerSystem", "Name": name}, namespace="root/virt")

        result, out = conn.InvokeMethod("CreateSnapshot", service, AffectedSystem=guest,
                                        SnapshotType=MEMORY_GUEST_OFF)
        assert result == 0
        assert conn.GetInstance(out["Job"])["JobState"] == COMPLETED
        assert not domain.isActive() and domain.hasManagedSaveImage(0)
        assert conn.GetInstance(guest)["EnabledState"] == ENABLED_BUT_OFFLINE
        snapshot = out["ResultingSnapshot"]
        assert snapshot["InstanceID"] == f"KVM:{name}"

        assert conn.InvokeMethod("ApplySnapshot", service, Snapshot=snapshot)[0] == 0
        assert domain.isActive() and not domain.hasManagedSaveImage(0)
        assert conn.GetInstance(guest)["EnabledState"] == ENABLED

        assert conn.InvokeMethod("CreateSnapshot", service, AffectedSystem=guest,
                                 SnapshotType=MEMORY_GUEST_OFF)[0] == 0
        assert conn.InvokeMethod("DestroySnapshot", service, AffectedSnapshot=snapshot)[0] == 0
        assert not domain.isActive() and not domain.hasManagedSaveImage(0)

        with pytest.raises(pywbem.CIMError) as error:
            conn.InvokeMethod("ApplySnapshot", service, Snapshot=snapshot)
        assert error.value.status_code == pywbem.CIM_ERR_FAILED
        assert "has no snapshot" in error.value.status_description
