"""The VirtualSystemSnapshotService and its capabilities, through the dispatcher on the test
driver: libvirt's managed save, then libvirt's snapshots with their settings and
associations; the same on QEMU is in tests/libvirtd."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import libvirt
import pytest
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint16,
)

from providers import register_providers
from providers.classes import VIRT_NAMESPACE
from tests.providers.conftest import Cim, minimal_domain_xml
from virtcim.interop import ProfileRegistry
from virtcim.job_providers import register_jobs
from virtcim.jobs import JobRegistry
from virtcim.operations import Dispatcher
from virtcim.provider import ProviderRegistry
from virtcim.state import StateStore

SERVICE = "Test_VirtualSystemSnapshotService"
CAPABILITIES = "Test_VirtualSystemSnapshotServiceCapabilities"
SETTINGS = "Test_SnapshotSettingData"
GUEST = "snap-guest"
#: libvirt-cim's "memory state, guest left off": the type a managed save gives.
MEMORY_GUEST_OFF = Uint16(32769)
FULL, DISK = 2, 3
RUNNING, COMPLETED, EXCEPTION = 4, 7, 10


@pytest.fixture
def guest(libvirt_conn: libvirt.virConnect) -> Iterator[libvirt.virDomain]:
    """A running test-driver guest, removed afterwards with any saved state and snapshots."""
    domain = libvirt_conn.defineXML(minimal_domain_xml(GUEST))
    domain.create()
    yield domain
    if domain.isActive():
        domain.destroy()
    domain.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                         | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)


@pytest.fixture
def jobs(repository) -> JobRegistry:
    return JobRegistry(repository, StateStore(None))


@pytest.fixture
def cim_with_jobs(repository, hypervisor, jobs) -> Iterator[Cim]:
    """Like ``cim``, on a server that keeps jobs."""
    registry = ProviderRegistry()
    register_providers(registry, repository, [hypervisor], ProfileRegistry())
    register_jobs(registry, repository, VIRT_NAMESPACE, jobs)
    dispatcher = Dispatcher(repository, registry, jobs=jobs)
    yield Cim(dispatcher, hypervisor)
    dispatcher.close()


def service_path(cim: Cim) -> CIMInstanceName:
    [path] = cim.names(SERVICE)
    return path


def vssd(name: str, prefix: str = "Test") -> CIMInstanceName:
    return CIMInstanceName(f"{prefix}_VirtualSystemSettingData",
                           {"InstanceID": f"{prefix}:{name}"}, namespace=VIRT_NAMESPACE)


def create(cim: Cim, system: CIMInstanceName | None, kind: int | None = MEMORY_GUEST_OFF,
           **params):
    if system is not None:
        params["AffectedSystem"] = system
    if kind is not None:
        params["SnapshotType"] = Uint16(kind)
    return cim.invoke(service_path(cim), "CreateSnapshot", **params)


def saved(domain: libvirt.virDomain) -> bool:
    return bool(domain.hasManagedSaveImage(0))


# --- the instances ---------------------------------------------------------------------------


def test_service_is_keyed_as_libvirt_cim_keyed_it(cim, hypervisor):
    [service] = cim.enumerate(SERVICE)
    assert service.path.keybindings == {
        "SystemCreationClassName": "Test_HostSystem", "SystemName": hypervisor.hostname,
        "CreationClassName": SERVICE, "Name": "SnapshotService"}
    assert service["EnabledState"] == 2


def test_capabilities_list_three_synchronous_methods_and_the_three_types(cim):
    [caps] = cim.enumerate(CAPABILITIES)
    assert caps["InstanceID"] == "SnapshotCapabilities"
    assert caps["SynchronousMethodsSupported"] == [2, 3, 4]
    assert caps["AynchronousMethodsSupported"] == [2]  # libvirt's snapshots, in a job
    assert caps["SnapshotTypesSupported"] == [FULL, DISK, 32769]


@pytest.mark.parametrize("classname", [SERVICE, CAPABILITIES])
def test_each_is_got_by_its_path(cim, classname):
    [path] = cim.names(classname)
    assert cim.get(path).path.keybindings == path.keybindings


@pytest.mark.parametrize("classname, key", [
    (SERVICE, "Name"), (SERVICE, "SystemName"), (SERVICE, "CreationClassName"),
    (SERVICE, "SystemCreationClassName"), (CAPABILITIES, "InstanceID"),
])
def test_a_wrong_key_is_named_in_libvirt_cims_words(cim, classname, key):
    [path] = cim.names(classname)
    path.keybindings[key] = "Wrong"
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert f"No such instance ({key})" in error.value.status_description


def test_host_hosts_the_service_which_has_its_capabilities(cim, hypervisor):
    host = CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                               "Name": hypervisor.hostname},
                           namespace=VIRT_NAMESPACE)
    services = cim.associator_names(host, AssocClass="Test_HostedService", ResultClass=SERVICE)
    assert [p["Name"] for p in services] == ["SnapshotService"]
    caps = cim.associator_names(services[0], AssocClass="Test_ElementCapabilities")
    assert [(p.classname, p["InstanceID"]) for p in caps] == [
        (CAPABILITIES, "SnapshotCapabilities")]
    # libvirt-cim's clients take whatever capabilities the host has for ones they know
    assert not cim.associator_names(host, AssocClass="Test_ElementCapabilities",
                                    ResultClass=CAPABILITIES)


# --- the three methods -----------------------------------------------------------------------


def test_create_saves_the_state_and_leaves_the_guest_off(cim, guest):
    result = create(cim, cim.guest(GUEST))
    assert result.return_value == 0
    assert result.out_params["ResultingSnapshot"].keybindings == {"InstanceID": f"Test:{GUEST}"}
    assert "Job" not in result.out_params  # this server keeps no jobs
    assert not guest.isActive()
    assert saved(guest)


def test_create_accepts_and_ignores_the_capabilities_libvirt_cims_clients_send(cim, guest):
    settings = CIMInstance(CAPABILITIES, {"InstanceID": "SnapshotCapabilities"})
    assert create(cim, cim.guest(GUEST), SnapshotSettings=settings).return_value == 0
    assert saved(guest)


def test_create_returns_its_completed_job(cim_with_jobs, jobs, guest, hypervisor):
    result = create(cim_with_jobs, cim_with_jobs.guest(GUEST))
    assert result.return_value == 0
    job = cim_with_jobs.get(result.out_params["Job"])
    assert job.classname == "CIM_ConcreteJob"
    assert (job["JobState"], job["PercentComplete"], job["ErrorCode"]) == (COMPLETED, 100, None)
    [recorded] = jobs.jobs()
    assert [p["Name"] for p in recorded.affected] == [GUEST]
    assert recorded.owner["Name"] == "SnapshotService"
    assert result.out_params["ResultingSnapshot"]["InstanceID"] == f"Test:{GUEST}"
    assert saved(guest)


def test_a_save_libvirt_refuses_fails_with_its_failed_job_and_the_guest_runs_on(
        cim_with_jobs, libvirt_conn):
    transient = libvirt_conn.createXML(minimal_domain_xml("snap-transient"))
    try:
        result = create(cim_with_jobs, cim_with_jobs.guest("snap-transient"))
        assert result.return_value == 2
        assert "ResultingSnapshot" not in result.out_params
        job = cim_with_jobs.get(result.out_params["Job"])
        assert job["JobState"] == EXCEPTION
        assert "transient" in job["ErrorDescription"]
        assert transient.isActive()
    finally:
        transient.destroy()


def test_apply_starts_the_guest_from_its_saved_state(cim, guest):
    create(cim, cim.guest(GUEST))
    result = cim.invoke(service_path(cim), "ApplySnapshot", Snapshot=vssd(GUEST))
    assert result.return_value == 0
    assert guest.isActive()
    assert not saved(guest)  # libvirt discards the state it resumed from


def test_destroy_discards_the_saved_state_and_the_guest_stays_off(cim, guest):
    create(cim, cim.guest(GUEST))
    result = cim.invoke(service_path(cim), "DestroySnapshot", AffectedSnapshot=vssd(GUEST))
    assert result.return_value == 0
    assert not saved(guest)
    assert not guest.isActive()


def test_a_snapshot_waits_for_another_change_of_the_guest(cim, guest, hypervisor):
    results = []
    with hypervisor.editing(hypervisor.domain(GUEST)):
        caller = threading.Thread(target=lambda: results.append(create(cim, cim.guest(GUEST))))
        caller.start()
        caller.join(0.3)
        assert guest.isActive() and not results
    caller.join(10)
    assert [r.return_value for r in results] == [0]
    assert saved(guest)


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [32768, 0, 7, 32770])
def test_other_snapshot_types_are_not_supported_and_change_nothing(cim, guest, kind):
    result = create(cim, cim.guest(GUEST), kind)
    assert result.return_value == 1
    assert result.out_params == {}
    assert guest.isActive()
    assert not saved(guest)


def test_a_missing_snapshot_type_is_an_invalid_parameter(cim, guest):
    with pytest.raises(CIMError) as error:
        create(cim, cim.guest(GUEST), None)
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert guest.isActive()


@pytest.mark.parametrize("system", [
    None, "",
    CIMInstanceName("KVM_ComputerSystem", {"CreationClassName": "KVM_ComputerSystem",
                                           "Name": GUEST}),
    CIMInstanceName("Test_ComputerSystem", {"CreationClassName": "Test_HostSystem",
                                            "Name": GUEST}),
    CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem", "Name": GUEST}),
])
def test_a_missing_blank_or_foreign_system_is_an_invalid_parameter(cim, guest, system):
    params = {} if system is None else {"AffectedSystem": system}
    with pytest.raises(CIMError) as error:
        create(cim, None, **params)
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "AffectedSystem" in error.value.status_description
    assert guest.isActive()


def test_an_unknown_guest_is_not_found_in_libvirt_cims_words(cim):
    with pytest.raises(CIMError) as error:
        create(cim, cim.guest("no-such-guest"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "Referenced domain `no-such-guest' does not exist" in error.value.status_description


def test_a_shut_off_guest_has_no_state_to_save(cim, guest):
    guest.destroy()
    with pytest.raises(CIMError) as error:
        create(cim, cim.guest(GUEST))
    assert error.value.status_code == CIM_ERR_FAILED
    assert "shut off" in error.value.status_description
    assert not saved(guest)


@pytest.mark.parametrize("method, parameter", [("ApplySnapshot", "Snapshot"),
                                               ("DestroySnapshot", "AffectedSnapshot")])
class TestApplyAndDestroyRefuse:
    def call(self, cim, method, parameter, setting):
        params = {} if setting is None else {parameter: setting}
        with pytest.raises(CIMError) as error:
            cim.invoke(service_path(cim), method, **params)
        return error.value

    @pytest.mark.parametrize("setting", [
        None, "", vssd(GUEST, "KVM"), vssd("", "Test"),
        CIMInstanceName("Test_ComputerSystem", {"InstanceID": f"Test:{GUEST}"}),
    ])
    def test_a_missing_blank_or_foreign_setting(self, cim, guest, method, parameter, setting):
        error = self.call(cim, method, parameter, setting)
        assert error.status_code == CIM_ERR_INVALID_PARAMETER
        assert parameter in error.status_description

    def test_an_unknown_guest(self, cim, method, parameter):
        error = self.call(cim, method, parameter, vssd("no-such-guest"))
        assert error.status_code == CIM_ERR_NOT_FOUND
        assert "Referenced domain `no-such-guest' does not exist" in error.status_description

    def test_a_guest_without_a_saved_state(self, cim, guest, method, parameter):
        guest.destroy()
        error = self.call(cim, method, parameter, vssd(GUEST))
        assert error.status_code == CIM_ERR_FAILED
        assert "has no snapshot" in error.status_description
        assert not guest.isActive()

    def test_a_running_guest(self, cim, guest, method, parameter):
        error = self.call(cim, method, parameter, vssd(GUEST))
        assert error.status_code == CIM_ERR_FAILED
        assert "runs" in error.status_description
        assert guest.isActive()


# --- libvirt's snapshots (SnapshotType 2 and 3) ----------------------------------------------


def snapshot(name: str, guest: str = GUEST, classname: str = SETTINGS) -> CIMInstanceName:
    return CIMInstanceName(classname, {"InstanceID": f"Test:{guest}/{name}"},
                           namespace=VIRT_NAMESPACE)


def named(name: str, description: str | None = None) -> CIMInstance:
    """SnapshotSettings naming the snapshot, as DMTF's clients send them."""
    values = {"ElementName": name} | ({"Description": description} if description else {})
    return CIMInstance("CIM_VirtualSystemSettingData", values)


def take(cim: Cim, name: str, kind: int = FULL) -> CIMInstanceName:
    result = create(cim, cim.guest(GUEST), kind, SnapshotSettings=named(name))
    assert result.return_value == 0
    return result.out_params["ResultingSnapshot"]


def libvirt_snapshots(domain: libvirt.virDomain) -> dict[str, str]:
    """Each snapshot libvirt has of ``domain``, by name, with the state it kept."""
    return {s.getName(): s.getXMLDesc().split("<state>")[1].split("<")[0]
            for s in domain.listAllSnapshots()}


def test_a_full_snapshot_of_a_running_guest_keeps_it_running(cim, guest):
    path = take(cim, "before-upgrade")
    assert (path.classname, path["InstanceID"]) == (SETTINGS, f"Test:{GUEST}/before-upgrade")
    assert libvirt_snapshots(guest) == {"before-upgrade": "running"}
    assert guest.isActive()
    assert not saved(guest)


def test_the_snapshot_is_a_setting_data_of_its_guest(cim, guest):
    create(cim, cim.guest(GUEST), FULL, SnapshotSettings=named("s1", "a quiet moment"))
    [instance] = cim.enumerate(SETTINGS)
    assert instance.path.keybindings == {"InstanceID": f"Test:{GUEST}/s1"}
    assert {name: instance[name] for name in (
        "ElementName", "Description", "VirtualSystemIdentifier", "VirtualSystemType",
        "SnapshotType", "ChangeableType")} == {
        "ElementName": "s1", "Description": "a quiet moment", "VirtualSystemIdentifier": GUEST,
        "VirtualSystemType": "Test", "SnapshotType": FULL, "ChangeableType": 0}
    created = guest.snapshotLookupByName("s1").getXMLDesc().split("<creationTime>")[1]
    assert instance["CreationTime"].datetime.timestamp() == int(created.split("<")[0])
    assert cim.get(instance.path) == instance
    # libvirt-cim's clients count one VirtualSystemSettingData per guest
    assert [p["InstanceID"] for p in cim.names("Test_VirtualSystemSettingData")
            if GUEST in p["InstanceID"]] == [f"Test:{GUEST}"]
    assert instance.path in [p for p in cim.names("CIM_VirtualSystemSettingData")]


@pytest.mark.parametrize("settings", [
    None, CIMInstance(CAPABILITIES, {"InstanceID": "SnapshotCapabilities",
                                     "ElementName": "SnapshotCapabilities"}),
])
def test_a_snapshot_not_named_is_named_by_the_time_as_libvirt_names_one(cim, guest, settings):
    params = {} if settings is None else {"SnapshotSettings": settings}
    first = create(cim, cim.guest(GUEST), FULL, **params).out_params["ResultingSnapshot"]
    second = create(cim, cim.guest(GUEST), FULL, **params).out_params["ResultingSnapshot"]
    names = sorted(libvirt_snapshots(guest))
    assert len(names) == 2 and names[0].isdigit()
    assert sorted(p["InstanceID"] for p in (first, second)) == [
        f"Test:{GUEST}/{name}" for name in names]


def test_apply_reverts_the_guest_to_the_snapshot_which_becomes_current(cim, guest):
    running = take(cim, "running")
    guest.suspend()
    take(cim, "paused")
    assert cim.invoke(service_path(cim), "ApplySnapshot", Snapshot=running).return_value == 0
    assert guest.state()[0] == libvirt.VIR_DOMAIN_RUNNING
    current = cim.associator_names(cim.guest(GUEST),
                                   AssocClass="Test_MostCurrentSnapshotInBranch")
    assert [p["InstanceID"] for p in current] == [running["InstanceID"]]


def test_destroy_deletes_the_snapshot_alone(cim, guest):
    first, second = take(cim, "first"), take(cim, "second")
    assert cim.invoke(service_path(cim), "DestroySnapshot",
                      AffectedSnapshot=first).return_value == 0
    assert list(libvirt_snapshots(guest)) == ["second"]
    assert guest.isActive()
    with pytest.raises(CIMError) as error:
        cim.get(first)
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert cim.get(second)["ElementName"] == "second"


def test_a_guest_links_to_each_snapshot_and_to_its_current_one(cim, guest):
    first, second = take(cim, "first"), take(cim, "second")
    system = cim.guest(GUEST)
    assert sorted(p["InstanceID"] for p in cim.associator_names(
        system, AssocClass="Test_SnapshotOfVirtualSystem")) == [
        first["InstanceID"], second["InstanceID"]]
    assert [p["Name"] for p in cim.associator_names(
        first, AssocClass="CIM_SnapshotOfVirtualSystem", Role="Dependent")] == [GUEST]
    assert [p["InstanceID"] for p in cim.associator_names(
        system, AssocClass="Test_MostCurrentSnapshotInBranch")] == [second["InstanceID"]]
    assert not cim.associator_names(first, AssocClass="Test_MostCurrentSnapshotInBranch")
    links = cim.enumerate("Test_SnapshotOfVirtualSystem")
    assert sorted(link["Dependent"]["InstanceID"] for link in links) == [
        first["InstanceID"], second["InstanceID"]]
    assert all(link["Antecedent"]["Name"] == GUEST for link in links)
    assert cim.get(links[0].path) == links[0]


def test_a_snapshot_name_taken_is_an_invalid_parameter_and_nothing_is_added(cim, guest):
    take(cim, "s1")
    with pytest.raises(CIMError) as error:
        create(cim, cim.guest(GUEST), FULL, SnapshotSettings=named("s1"))
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "has a snapshot 's1' already" in error.value.status_description
    assert list(libvirt_snapshots(guest)) == ["s1"]


@pytest.mark.parametrize("name", ["a/b", "tab\there", "x" * 256])
def test_a_name_libvirt_cannot_keep_as_a_file_name_is_an_invalid_parameter(cim, guest, name):
    with pytest.raises(CIMError) as error:
        create(cim, cim.guest(GUEST), FULL, SnapshotSettings=named(name))
    assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert not libvirt_snapshots(guest)


def finished(cim: Cim, job: CIMInstanceName) -> CIMInstance:
    """The job once it has finished."""
    deadline = time.monotonic() + 30
    while (found := cim.get(job))["JobState"] == RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    return found


def test_a_snapshot_is_taken_by_a_job_linked_to_the_guest_and_the_snapshot(
        cim_with_jobs, jobs, guest):
    result = create(cim_with_jobs, cim_with_jobs.guest(GUEST), FULL,
                    SnapshotSettings=named("s1"))
    assert result.return_value == 4096
    assert list(result.out_params) == ["Job"]
    assert finished(cim_with_jobs, result.out_params["Job"])["JobState"] == COMPLETED
    [recorded] = jobs.jobs()
    assert [p["InstanceID"] if "InstanceID" in p else p["Name"] for p in recorded.affected] == [
        GUEST, f"Test:{GUEST}/s1"]
    assert recorded.owner["Name"] == "SnapshotService"
    assert list(libvirt_snapshots(guest)) == ["s1"]


def test_a_name_another_createsnapshot_is_taking_is_an_invalid_parameter(
        cim_with_jobs, guest, hypervisor):
    with hypervisor.editing(hypervisor.domain(GUEST)):  # holds the first job back
        first = create(cim_with_jobs, cim_with_jobs.guest(GUEST), FULL,
                       SnapshotSettings=named("s1"))
        assert first.return_value == 4096
        with pytest.raises(CIMError) as error:
            create(cim_with_jobs, cim_with_jobs.guest(GUEST), FULL, SnapshotSettings=named("s1"))
        assert error.value.status_code == CIM_ERR_INVALID_PARAMETER
        unnamed = create(cim_with_jobs, cim_with_jobs.guest(GUEST), FULL)
    for result in (first, unnamed):
        assert finished(cim_with_jobs, result.out_params["Job"])["JobState"] == COMPLETED
    assert len(libvirt_snapshots(guest)) == 2


def test_a_snapshot_libvirt_refuses_ends_its_job_in_exception(cim_with_jobs, guest):
    # libvirt's test driver takes no disk-only snapshots
    result = create(cim_with_jobs, cim_with_jobs.guest(GUEST), DISK,
                    SnapshotSettings=named("disks"))
    assert result.return_value == 4096
    job = finished(cim_with_jobs, result.out_params["Job"])
    assert job["JobState"] == EXCEPTION
    assert "cannot take a snapshot of guest" in job["ErrorDescription"]
    assert not libvirt_snapshots(guest)
    assert guest.isActive()
    # the name was let go with the job
    assert create(cim_with_jobs, cim_with_jobs.guest(GUEST), FULL,
                  SnapshotSettings=named("disks")).return_value == 4096


@pytest.mark.parametrize("method, parameter", [("ApplySnapshot", "Snapshot"),
                                               ("DestroySnapshot", "AffectedSnapshot")])
@pytest.mark.parametrize("setting", [
    snapshot("no-such-snapshot"), snapshot("s1", guest="no-such-guest"),
    CIMInstanceName(SETTINGS, {"InstanceID": "Test:no-slash"}),
])
def test_applying_or_destroying_a_snapshot_that_is_not_there_is_not_found(
        cim, guest, method, parameter, setting):
    take(cim, "s1")
    with pytest.raises(CIMError) as error:
        cim.invoke(service_path(cim), method, **{parameter: setting})
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert list(libvirt_snapshots(guest)) == ["s1"]


def test_the_snapshot_tree_links_each_snapshot_to_those_taken_from_it(cim, guest):
    first, second = take(cim, "first"), take(cim, "second")
    cim.invoke(service_path(cim), "ApplySnapshot", Snapshot=first)
    third = take(cim, "third")  # a second branch from the first

    def related(path, **filters):
        return sorted(p["InstanceID"] for p in cim.associator_names(
            path, AssocClass="Test_ParentChildSettingData", **filters))

    assert related(first, Role="Antecedent") == [second["InstanceID"], third["InstanceID"]]
    assert related(second, Role="Dependent") == [first["InstanceID"]]
    assert related(third) == [first["InstanceID"]]  # a leaf: its parent alone
    assert not related(first, Role="Dependent")  # a root
    links = cim.enumerate("Test_ParentChildSettingData")
    assert sorted((link["Antecedent"]["InstanceID"], link["Dependent"]["InstanceID"])
                  for link in links) == [(first["InstanceID"], second["InstanceID"]),
                                         (first["InstanceID"], third["InstanceID"])]

    cim.invoke(service_path(cim), "DestroySnapshot", AffectedSnapshot=first)
    assert not cim.enumerate("Test_ParentChildSettingData")  # its children are roots now
