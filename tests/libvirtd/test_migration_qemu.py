"""The VirtualSystemMigrationService over HTTP, moving QEMU guests to a second libvirtd.

The destination is a second daemon on this machine in namespaces of its own
(:mod:`tests.libvirtd.second_host`), reached over TCP. Guests are tiny and
diskless, so a live move takes a couple of seconds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIMError, CIMInstance, CIMInstanceName

from tests.http.servers import running_server
from tests.libvirtd.conftest import finished_job as any_finished_job
from tests.libvirtd.conftest import remove_guest, scratch_names
from tests.libvirtd.second_host import SecondHost

pytestmark = [pytest.mark.http, pytest.mark.slow]

SERVICE = "KVM_VirtualSystemMigrationService"
TCP = 5


@pytest.fixture(scope="module")
def destination() -> Iterator[SecondHost]:
    with SecondHost(Path(tempfile.mkdtemp(prefix="virtcim-second-host-"))) as host:
        yield host


@pytest.fixture(scope="module")
def destination_conn(destination: SecondHost) -> Iterator[libvirt.virConnect]:
    conn = libvirt.open(destination.uri)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def server(qemu_uri, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("migration"), uris=(qemu_uri,)) as srv:
        yield srv


@pytest.fixture
def conn(server):
    connection = server.connection("root/virt")
    connection.debug = True  # keeps the raw reply: see is_migratable()
    return connection


@pytest.fixture
def guest_name(qemu_conn, destination_conn) -> Iterator[Callable[[], str]]:
    """Names a guest that is removed from both hosts afterwards."""
    def remove_everywhere(name: str) -> None:
        remove_guest(qemu_conn, name)
        remove_guest(destination_conn, name)

    yield from scratch_names(remove_everywhere)


@pytest.fixture
def running_guest(qemu_conn, guest_name, tiny_guest_xml) -> str:
    name = guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name)).create()
    return name


def service(conn) -> CIMInstanceName:
    [path] = conn.EnumerateInstanceNames(SERVICE)
    return path


def guest(name: str) -> CIMInstanceName:
    return CIMInstanceName("KVM_ComputerSystem",
                           {"CreationClassName": "KVM_ComputerSystem", "Name": name})


def over_tcp(migration_type: int | None = None) -> str:
    values = {"TransportType": str(TCP)}
    if migration_type is not None:
        values["MigrationType"] = str(migration_type)
    return CIMInstance("KVM_VirtualSystemMigrationSettingData", properties=values).tomof()


def is_migratable(conn, name: str, host: str) -> bool:
    """CheckVirtualSystemIsMigratableToHost's IsMigratable, read from the reply's XML:
    pywbem 1.9 turns any boolean output parameter's text into True."""
    answer, _ = conn.InvokeMethod("CheckVirtualSystemIsMigratableToHost", service(conn),
                                  ComputerSystem=guest(name), DestinationHost=host,
                                  MigrationSettingData=over_tcp())  # fmt: skip
    assert answer == 0
    [text] = etree.fromstring(conn.last_raw_reply).xpath(
        "//PARAMVALUE[@NAME='IsMigratable']/VALUE/text()")
    return {"TRUE": True, "FALSE": False}[text.upper()]


def finished_job(conn, reply: tuple) -> CIMInstance:
    """The move's job once it has finished: a move returns 4096 and its job."""
    job = any_finished_job(conn, reply)
    [moved] = conn.AssociatorNames(reply[1]["Job"], AssocClass="CIM_AffectedJobElement")
    assert moved.classname == "KVM_ComputerSystem"
    return job


def state_at(conn: libvirt.virConnect, name: str) -> tuple[int, bool] | None:
    """``(libvirt state, persistent)`` of guest ``name`` on ``conn``, None if it has none."""
    try:
        domain = conn.lookupByName(name)
    except libvirt.libvirtError:
        return None
    return domain.state()[0], bool(domain.isPersistent())


def test_a_running_guest_is_checked_then_moved_live(conn, qemu_conn, destination,
                                                     destination_conn, running_guest):
    [caps] = conn.EnumerateInstances("KVM_VirtualSystemMigrationCapabilities")
    assert caps["AsynchronousMethodsSupported"] == [2, 3]  # the moves are jobs
    assert caps["SynchronousMethodsSupported"] == [4, 5]  # the checks are not
    assert is_migratable(conn, running_guest, destination.address)

    reply = conn.InvokeMethod("MigrateVirtualSystemToHost", service(conn),
                                ComputerSystem=guest(running_guest),
                                DestinationHost=destination.address,
                                MigrationSettingData=over_tcp())  # fmt: skip
    job = finished_job(conn, reply)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert job["PercentComplete"] == 100
    assert reply[1]["Job"].classname == job.classname == "KVM_MigrationJob"
    assert job["InstanceID"] in {p["InstanceID"] for p in conn.EnumerateInstanceNames(
        "CIM_ConcreteJob")}
    assert state_at(destination_conn, running_guest) == (libvirt.VIR_DOMAIN_RUNNING, True)
    assert state_at(qemu_conn, running_guest) is None
    assert running_guest not in {p["Name"] for p in conn.EnumerateInstanceNames(
        "KVM_ComputerSystem")}


def test_a_guest_paused_while_copied_runs_there(conn, qemu_conn, destination,
                                                destination_conn, running_guest):
    target = CIMInstanceName("KVM_HostSystem", {"CreationClassName": "KVM_HostSystem",
                                                "Name": destination.address})
    reply = conn.InvokeMethod("MigrateVirtualSystemToSystem", service(conn),
                                ComputerSystem=guest(running_guest), DestinationSystem=target,
                                MigrationSettingData=over_tcp(migration_type=3))  # fmt: skip
    job = finished_job(conn, reply)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert job["PercentComplete"] == 100
    assert state_at(destination_conn, running_guest) == (libvirt.VIR_DOMAIN_RUNNING, True)
    assert state_at(qemu_conn, running_guest) is None


def test_a_shut_off_guest_moves_its_definition(conn, qemu_conn, destination, destination_conn,
                                               guest_name, tiny_guest_xml):
    name = guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    reply = conn.InvokeMethod("MigrateVirtualSystemToHost", service(conn),
                                ComputerSystem=guest(name), DestinationHost=destination.address,
                                MigrationSettingData=over_tcp(migration_type=1))  # fmt: skip
    job = finished_job(conn, reply)
    assert job["JobState"] == 7, job["ErrorDescription"]
    assert job["PercentComplete"] == 100
    assert state_at(destination_conn, name) == (libvirt.VIR_DOMAIN_SHUTOFF, True)
    assert state_at(qemu_conn, name) is None


def test_a_guest_the_destination_already_has_stays(conn, qemu_conn, destination,
                                                   destination_conn, running_guest,
                                                   tiny_guest_xml):
    destination_conn.defineXML(tiny_guest_xml(running_guest))
    assert not is_migratable(conn, running_guest, destination.address)

    with pytest.raises(CIMError) as error:
        conn.InvokeMethod("MigrateVirtualSystemToHost", service(conn),
                          ComputerSystem=guest(running_guest),
                          DestinationHost=destination.address, MigrationSettingData=over_tcp())
    assert error.value.status_code == CIM_ERR_FAILED
    assert "already has a guest named" in error.value.status_description
    assert state_at(qemu_conn, running_guest) == (libvirt.VIR_DOMAIN_RUNNING, True)
    assert state_at(destination_conn, running_guest) == (libvirt.VIR_DOMAIN_SHUTOFF, True)
