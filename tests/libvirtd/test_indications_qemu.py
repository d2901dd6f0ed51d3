"""Indications from a real libvirtd: guests changed with ``virsh`` reach a WBEMListener."""

from __future__ import annotations

import queue
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import pywbem

from tests.http.indication_listener import (
    CS_INDICATIONS,
    SETTING_INDICATIONS,
    Listener,
    subscribe,
)
from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

PORT = 27467
SETTINGS_PORT = 27490


def _data_disk(folder: Path) -> tuple[Path, Path]:
    """A 1 MiB raw image in ``folder``, and a file of the device XML that attaches it (vdb)."""
    image = folder / "data.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    disk = folder / "disk.xml"
    disk.write_text(f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    f"<source file='{image}'/><target dev='vdb' bus='virtio'/></disk>")
    return image, disk


@contextmanager
def _serving(tmp_path: Path, uri: str, listener: Listener, query: str) -> Iterator[None]:
    """A server on the daemon at ``uri`` whose indications ``query`` selects go to ``listener``
    (subscribed with pywbem's subscription manager)."""
    with running_server(tmp_path / "server", uris=(uri,)) as server:
        sm = pywbem.WBEMSubscriptionManager(f"qemu-{listener.port}")
        server_id = sm.add_server(pywbem.WBEMServer(server.connection("interop")))
        subscribe(sm, server_id, listener, query)
        yield
        sm.remove_server(server_id)


def virsh(uri: str, *args: str) -> None:
    subprocess.run(["virsh", "-c", uri, *args], check=True, capture_output=True, timeout=60)


def test_guests_changed_with_virsh_are_announced_within_two_seconds(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    definition = tmp_path / "guest.xml"
    definition.write_text(tiny_guest_xml(name))
    _, disk = _data_disk(tmp_path)
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
        with _serving(tmp_path, qemu_uri, listener, CS_INDICATIONS):
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
    finally:
        listener.stop()
    assert created is received[0]
    assert {i["SourceInstance"]["Name"] for i in received} == {name}
    assert plugged["PreviousInstance"]["EnabledState"] == 2
    assert deleted["SourceInstance"]["OtherEnabledState"] == "Guest destroyed"
    numbers = [i["SequenceNumber"] for i in received]
    assert numbers == list(range(numbers[0], numbers[0] + len(received)))


def test_a_disk_hot_plugged_with_virsh_is_announced_as_a_new_setting_within_two_seconds(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    definition = tmp_path / "guest.xml"
    # ACPI, so that the PCI bus takes hot-plugged devices.
    definition.write_text(tiny_guest_xml(name).replace("</os>", "</os><features><acpi/></features>"))
    image, disk = _data_disk(tmp_path)
    listener = Listener(SETTINGS_PORT).start()
    try:
        with _serving(tmp_path, qemu_uri, listener, SETTING_INDICATIONS):
            virsh(qemu_uri, "define", str(definition))
            defined = _quiet(listener)
            virsh(qemu_uri, "start", name)
            _quiet(listener)
            virsh(qemu_uri, "attach-device", name, str(disk), "--live")
            plugged = listener.next()  # within 2 s
            _quiet(listener)
            virsh(qemu_uri, "destroy", name)
            _quiet(listener)
            virsh(qemu_uri, "undefine", name)
            gone = _quiet(listener)
    finally:
        listener.stop()
    assert {i.classname for i in defined} == {"KVM_ResourceAllocationSettingDataCreatedIndication"}
    assert {i["SourceInstance"]["InstanceID"] for i in defined} >= {f"{name}/mem", f"{name}/proc"}
    assert plugged.classname == "KVM_ResourceAllocationSettingDataCreatedIndication"
    assert plugged["SourceInstance"].classname == "KVM_DiskResourceAllocationSettingData"
    assert plugged["SourceInstance"]["InstanceID"] == f"{name}/vdb"
    assert plugged["SourceInstance"]["Address"] == str(image)
    deleted = {i["SourceInstance"]["InstanceID"] for i in gone
               if i.classname == "KVM_ResourceAllocationSettingDataDeletedIndication"}
    assert {f"{name}/mem", f"{name}/proc"} <= deleted


def _quiet(listener: Listener) -> list[pywbem.CIMInstance]:
    """The indications that come, each within 2 s of the last, until none does."""
    found = []
    while True:
        try:
            found.append(listener.next())
        except queue.Empty:
            return found
