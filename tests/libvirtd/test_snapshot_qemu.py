"""The VirtualSystemSnapshotService over HTTP on QEMU: libvirt's managed save of a running
tiny guest, the guest started from it, and the saved state discarded; libvirt's own
snapshots of a tiny guest with a qcow2 disk, taken by jobs, reverted to and deleted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import libvirt
import pytest
import pywbem
from lxml import etree
from lxml.builder import E

from tests.http.servers import running_server
from tests.libvirtd.conftest import finished_job

pytestmark = [pytest.mark.http]

MEMORY_GUEST_OFF = pywbem.Uint16(32769)
FULL, DISK = pywbem.Uint16(2), pywbem.Uint16(3)
COMPLETED, EXCEPTION = 7, 10
ENABLED, ENABLED_BUT_OFFLINE = 2, 6


@contextmanager
def snapshot_service(uri: str, folder: Path, name: str) -> Iterator[tuple[
        pywbem.WBEMConnection, pywbem.CIMInstanceName, pywbem.CIMInstanceName]]:
    """A server of ``uri``: a connection to it, its snapshot service and guest ``name``."""
    with running_server(folder, uris=(uri,)) as server:
        conn = server.connection()
        [service] = conn.EnumerateInstanceNames("KVM_VirtualSystemSnapshotService")
        guest = pywbem.CIMInstanceName("KVM_ComputerSystem", {
            "CreationClassName": "KVM_ComputerSystem", "Name": name}, namespace="root/virt")
        yield conn, service, guest


def test_a_guest_is_saved_started_from_its_state_then_saved_and_its_state_discarded(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, tmp_path: Path):
    name = scratch_guest_name()
    domain = qemu_conn.defineXML(tiny_guest_xml(name))
    domain.create()
    with snapshot_service(qemu_uri, tmp_path, name) as (conn, service, guest):

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


def made_by(conn: pywbem.WBEMConnection, reply: tuple) -> pywbem.CIMInstanceName:
    """The snapshot a CreateSnapshot job made: the job is linked to its guest and to it."""
    linked = conn.AssociatorNames(reply[1]["Job"], AssocClass="CIM_AffectedJobElement")
    assert sorted(path.classname for path in linked) == [
        "KVM_ComputerSystem", "KVM_SnapshotSettingData"]
    [snapshot] = [path for path in linked if path.classname == "KVM_SnapshotSettingData"]
    return snapshot


def guest_with_a_disk(tiny_guest_xml, name: str, folder: str, disk_format: str = "qcow2") -> str:
    """A tiny guest with one blank disk: QEMU keeps a full snapshot inside a qcow2 image,
    and has no room for one in a raw image."""
    os.makedirs(folder)
    image = os.path.join(folder, f"disk.{disk_format}")
    subprocess.run(["qemu-img", "create", "-q", "-f", disk_format, image, "16M"], check=True)
    domain = etree.fromstring(tiny_guest_xml(name))
    domain.find("devices").insert(0, E.disk(
        E.driver(name="qemu", type=disk_format), E.source(file=image),
        E.target(dev="vda", bus="virtio"), type="file", device="disk"))
    return etree.tostring(domain, encoding="unicode")


def test_libvirts_snapshots_are_taken_reverted_to_and_deleted(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, pool_dir, tmp_path: Path):
    name = scratch_guest_name()
    domain = qemu_conn.defineXML(guest_with_a_disk(tiny_guest_xml, name, pool_dir))
    domain.create()
    with snapshot_service(qemu_uri, tmp_path, name) as (conn, service, guest):
        settings = pywbem.CIMInstance("KVM_VirtualSystemSettingData", {
            "ElementName": "booted", "Description": "memory and disk, running"})

        reply = conn.InvokeMethod("CreateSnapshot", service, AffectedSystem=guest,
                                  SnapshotType=FULL, SnapshotSettings=settings)
        assert finished_job(conn, reply)["JobState"] == COMPLETED
        booted = made_by(conn, reply)
        assert booted["InstanceID"] == f"KVM:{name}/booted"
        taken = etree.fromstring(domain.snapshotLookupByName("booted").getXMLDesc())
        assert taken.findtext("state") == "running"
        assert taken.find("memory").get("snapshot") == "internal"
        assert domain.isActive()
        instance = conn.GetInstance(booted)
        assert (instance["ElementName"], instance["Description"], instance["SnapshotType"]) == (
            "booted", "memory and disk, running", 2)

        domain.suspend()
        assert conn.InvokeMethod("ApplySnapshot", service, Snapshot=booted)[0] == 0
        assert domain.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        [current] = conn.AssociatorNames(guest, AssocClass="KVM_MostCurrentSnapshotInBranch")
        assert current["InstanceID"] == booted["InstanceID"]

        assert conn.InvokeMethod("DestroySnapshot", service, AffectedSnapshot=booted)[0] == 0
        assert domain.snapshotNum() == 0
        assert not conn.AssociatorNames(guest, AssocClass="KVM_SnapshotOfVirtualSystem")

        # a disk-only snapshot of a running guest: new overlay files beside the disks
        reply = conn.InvokeMethod("CreateSnapshot", service, AffectedSystem=guest,
                                  SnapshotType=DISK)
        assert finished_job(conn, reply)["JobState"] == COMPLETED
        disks = conn.GetInstance(made_by(conn, reply))
        assert disks["SnapshotType"] == 3
        [snapshot] = domain.listAllSnapshots()
        assert etree.fromstring(snapshot.getXMLDesc()).findtext("state") == "disk-snapshot"
        assert [p["InstanceID"] for p in conn.AssociatorNames(
            guest, AssocClass="KVM_SnapshotOfVirtualSystem")] == [disks["InstanceID"]]

        # libvirt reverts to a disk-only snapshot of a running guest from 9.9 on
        if qemu_conn.getLibVersion() >= 9_009_000:
            assert conn.InvokeMethod("ApplySnapshot", service, Snapshot=disks.path)[0] == 0
        else:
            with pytest.raises(pywbem.CIMError) as refused:
                conn.InvokeMethod("ApplySnapshot", service, Snapshot=disks.path)
            assert ("revert to external snapshot not supported"
                    in refused.value.status_description)
        assert domain.isActive()
        assert conn.InvokeMethod("DestroySnapshot", service,
                                 AffectedSnapshot=disks.path)[0] == 0
        assert domain.snapshotNum() == 0


def test_a_full_snapshot_libvirt_refuses_fails_with_its_job_and_leaves_nothing(
        qemu_uri, qemu_conn, tiny_guest_xml, scratch_guest_name, pool_dir, tmp_path: Path):
    name = scratch_guest_name()
    domain = qemu_conn.defineXML(guest_with_a_disk(tiny_guest_xml, name, pool_dir, "raw"))
    domain.create()
    with snapshot_service(qemu_uri, tmp_path, name) as (conn, service, guest):
        reply = conn.InvokeMethod("CreateSnapshot", service, AffectedSystem=guest,
                                  SnapshotType=FULL)
        job = finished_job(conn, reply)
        assert job["JobState"] == EXCEPTION
        assert "unsupported for storage type raw" in job["ErrorDescription"]
        assert domain.snapshotNum() == 0 and domain.isActive()
