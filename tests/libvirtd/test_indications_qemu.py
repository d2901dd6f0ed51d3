"""Indications from a real libvirtd: guests changed with ``virsh`` reach a WBEMListener."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import pywbem

from tests.http.indication_listener import CS_INDICATIONS, Listener, subscribe
from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

PORT = 27467


def virsh(uri: str, *args: str) -> None:
    subprocess.run(["virsh", "-c", uri, *args], check=True, capture_output=True, timeout=60)


def test_guests_changed_with_virsh_are_announced_within_two_seconds(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    definition = tmp_path / "guest.xml"
    definition.write_text(tiny_guest_xml(name))
    disk = tmp_path / "disk.xml"
    disk.write_text(f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    f"<source file='{tmp_path / 'data.img'}'/><target dev='vdb' bus='virtio'/>"
                    f"</disk>")
    listener = Listener(PORT).start()
    received: list[pywbem.CIMInstance] = []

    def until(classname: str, enabled_state: int | None = None) -> pywbem.CIMInstance:
        """The indications up to the next of ``classname`` (each within 2 s of the last)."""
        while True:
            indication = listener.next()
            received.append(indication)
            source = indication["SourceInstance"]
            if indication.classname == classname and (
                    enabled_state is None or source["EnabledState"] == enabled_state):
                return indication

    try:
        with running_server(tmp_path / "server", uris=(qemu_uri,)) as server:
            sm = pywbem.WBEMSubscriptionManager("qemu")
            server_id = sm.add_server(pywbem.WBEMServer(server.connection("interop")))
            subscribe(sm, server_id, listener, CS_INDICATIONS)
            virsh(qemu_uri, "define", str(definition))
            created = until("KVM_ComputerSystemCreatedIndication")
            virsh(qemu_uri, "start", name)
            until("KVM_ComputerSystemModifiedIndication", 2)
            virsh(qemu_uri, "attach-device", name, str(disk), "--config")
            plugged = until("KVM_ComputerSystemModifiedIndication")
            virsh(qemu_uri, "destroy", name)
            until("KVM_ComputerSystemModifiedIndication", 3)
            virsh(qemu_uri, "undefine", name)
            deleted = until("KVM_ComputerSystemDeletedIndication")
            sm.remove_server(server_id)
    finally:
        listener.stop()
    assert created is received[0]
    assert {i["SourceInstance"]["Name"] for i in received} == {name}
    assert plugged["PreviousInstance"]["EnabledState"] == 2
    assert deleted["SourceInstance"]["OtherEnabledState"] == "Guest destroyed"
    numbers = [i["SequenceNumber"] for i in received]
    assert numbers == list(range(numbers[0], numbers[0] + len(received)))
