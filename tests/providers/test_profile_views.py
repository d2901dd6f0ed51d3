"""The registered profiles under the class names libvirt-cim's clients look for.

The whole stack as the server wires it (interop providers, model providers,
the per-prefix profile views) over libvirt's test driver: ``Test_`` is the
served prefix, ``KVM_`` has classes but no hypervisor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMClassName, CIMError, CIMInstanceName

from providers import VIRTUAL_SYSTEM_PROFILE_ID, register_providers
from providers.classes import INTEROP_NAMESPACE, VIRT_NAMESPACE
from providers.virt import Hypervisor
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.interop import (
    PROFILE_REGISTRATION_ID,
    AuthenticationMechanism,
    ProfileRegistry,
    register_interop,
)
from virtcim.operations import Dispatcher, PullSettings
from virtcim.provider import ProviderRegistry
from virtcim.repository.schema import Repository

SYSTEM_VIRTUALIZATION_ID = "CIM:DSP1042-SystemVirtualization-1.0.0"
RESOURCE_ALLOCATION_DISK_ID = "CIM:DSP1041-ResourceAllocation-1.1.0c_d"
ALLOCATION_CAPABILITIES_ID = "CIM:DSP1043-AllocationCapabilities-1.0.0a"
KVM_REDIRECTION_PROFILE_ID = "CIM:DSP1076-KVMRedirection-1.0.0"
#: A guest with a VNC console on port 5907 (shut off).
CONSOLE_GUEST = """<domain type='test'><name>console-guest</name><memory>65536</memory>
<os><type>hvm</type></os><devices><graphics type='vnc' port='5907'/></devices></domain>"""


class Model:
    """Intrinsic calls in either namespace against the server's wiring."""

    def __init__(self, repository: Repository, hypervisor: Hypervisor) -> None:
        registry = ProviderRegistry()
        self.profiles = ProfileRegistry(INTEROP_NAMESPACE)
        register_interop(registry, repository, self.profiles, host="host.example",
                         pull=PullSettings(), auth_mechanisms=[AuthenticationMechanism.NONE])
        register_providers(registry, repository, [hypervisor], self.profiles)
        self.dispatcher = Dispatcher(repository, registry)
        self.hypervisor = hypervisor

    def call(self, name: str, namespace: str = INTEROP_NAMESPACE, **params: Any) -> Any:
        result = self.dispatcher.intrinsic(IntrinsicCall("1", name, namespace, params))
        return result if not isinstance(result, Iterator) else list(result)

    def enumerate(self, classname: str, namespace: str = INTEROP_NAMESPACE) -> list[Any]:
        return self.call("EnumerateInstances", namespace, ClassName=CIMClassName(classname))

    def names(self, classname: str, namespace: str = INTEROP_NAMESPACE) -> list[Any]:
        return self.call("EnumerateInstanceNames", namespace, ClassName=CIMClassName(classname))

    def associators(self, path: CIMInstanceName, **filters: Any) -> list[Any]:
        return self.call("Associators", path.namespace, ObjectName=path, **filters)

    def guest(self, name: str = "test") -> CIMInstanceName:
        return CIMInstanceName("Test_ComputerSystem",
                               {"CreationClassName": "Test_ComputerSystem", "Name": name},
                               namespace=VIRT_NAMESPACE)

    def host(self) -> CIMInstanceName:
        return CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                                   "Name": self.hypervisor.hostname},
                               namespace=VIRT_NAMESPACE)


@pytest.fixture
def model(repository: Repository, hypervisor: Hypervisor) -> Iterator[Model]:
    built = Model(repository, hypervisor)
    yield built
    built.dispatcher.close()


def profile(instance_id: str, classname: str = "Test_RegisteredProfile",
            **extra_keys: str) -> CIMInstanceName:
    return CIMInstanceName(classname, {"InstanceID": instance_id, **extra_keys},
                           namespace=INTEROP_NAMESPACE)


def facts(inst: Any) -> tuple[str, int, str, str]:
    """What cimtest compares: InstanceID, RegisteredOrganization, RegisteredName, RegisteredVersion."""
    return (inst["InstanceID"], inst["RegisteredOrganization"], inst["RegisteredName"],
            inst["RegisteredVersion"])


# -- <Prefix>_RegisteredProfile ------------------------------------------------------------


def test_the_prefix_class_lists_the_profiles_with_libvirt_cims_values(model):
    shown = {inst["InstanceID"]: facts(inst) for inst in model.enumerate("Test_RegisteredProfile")}
    assert shown[SYSTEM_VIRTUALIZATION_ID] == (
        SYSTEM_VIRTUALIZATION_ID, 2, "System Virtualization", "1.0.0")
    assert shown[VIRTUAL_SYSTEM_PROFILE_ID] == (
        VIRTUAL_SYSTEM_PROFILE_ID, 2, "Virtual System Profile", "1.0.0a")
    assert shown[RESOURCE_ALLOCATION_DISK_ID][3] == "1.1.0c"
    assert shown[ALLOCATION_CAPABILITIES_ID][3] == "1.0.0a"
    # Profile Registration's central instances are no guest's: libvirt-cim had no such profile.
    assert PROFILE_REGISTRATION_ID not in shown
    assert {inst.classname for inst in model.enumerate("Test_RegisteredProfile")} == {
        "Test_RegisteredProfile"}


def test_cim_registered_profile_lists_each_profile_once_with_dmtf_values(model):
    listed = model.enumerate("CIM_RegisteredProfile")
    ids = [inst["InstanceID"] for inst in listed]
    assert len(ids) == len(set(ids)) == len(model.profiles)
    assert {inst.classname for inst in listed} == {"CIM_RegisteredProfile"}
    by_id = {inst["InstanceID"]: inst for inst in listed}
    assert facts(by_id[VIRTUAL_SYSTEM_PROFILE_ID])[2:] == ("Virtual System", "1.0.0")
    names = model.names("CIM_RegisteredProfile")
    assert sorted(path["InstanceID"] for path in names) == sorted(ids)


def test_a_prefix_without_a_hypervisor_lists_no_profile(model):
    assert model.enumerate("KVM_RegisteredProfile") == []


def test_the_prefix_class_reads_a_profile_back_by_its_path(model):
    inst = model.call("GetInstance", InstanceName=profile(VIRTUAL_SYSTEM_PROFILE_ID))
    assert inst.classname == "Test_RegisteredProfile"
    assert inst["RegisteredName"] == "Virtual System Profile"


@pytest.mark.parametrize("instance_id, classname", [
    ("INVALID_Instid_KeyValue", "Test_RegisteredProfile"),
    (PROFILE_REGISTRATION_ID, "Test_RegisteredProfile"),
    ("INVALID_Instid_KeyValue", "CIM_RegisteredProfile"),
])
def test_a_profile_the_class_does_not_show_is_no_such_instance(model, instance_id, classname):
    with pytest.raises(CIMError) as error:
        model.call("GetInstance", InstanceName=profile(instance_id, classname))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    assert "No such instance" in error.value.status_description


def test_a_prefix_without_a_hypervisor_has_no_profile_to_read(model):
    with pytest.raises(CIMError) as error:
        model.call("GetInstance", InstanceName=profile(VIRTUAL_SYSTEM_PROFILE_ID,
                                                       "KVM_RegisteredProfile"))
    assert error.value.status_code == CIM_ERR_NOT_FOUND


# -- <Prefix>_ElementConformsToProfile ------------------------------------------------------


def test_the_prefix_link_leads_from_a_profile_to_the_prefix_guests(model):
    found = model.associators(profile(VIRTUAL_SYSTEM_PROFILE_ID),
                              AssocClass="Test_ElementConformsToProfile")
    assert [(inst.classname, inst["Name"]) for inst in found] == [("Test_ComputerSystem", "test")]


def test_every_profile_the_prefix_shows_has_central_instances_of_the_prefix(model):
    for shown in model.enumerate("Test_RegisteredProfile"):
        found = model.associators(profile(shown["InstanceID"]),
                                  AssocClass="Test_ElementConformsToProfile")
        assert found, shown["InstanceID"]
        assert all(inst.classname.startswith("Test_") for inst in found)


@pytest.mark.parametrize("element, expected", [
    ("guest", VIRTUAL_SYSTEM_PROFILE_ID),
    ("host", SYSTEM_VIRTUALIZATION_ID),
])
def test_a_guest_or_host_leads_to_its_profile_in_either_form(model, element, expected):
    source = getattr(model, element)()
    (view,) = model.associators(source, AssocClass="Test_ElementConformsToProfile")
    assert (view.classname, view["InstanceID"]) == ("Test_RegisteredProfile", expected)
    (dmtf,) = model.associators(source, AssocClass="CIM_ElementConformsToProfile")
    assert (dmtf.classname, dmtf["InstanceID"]) == ("CIM_RegisteredProfile", expected)


def test_the_dmtf_link_from_a_dmtf_profile_reaches_each_guest_once(model):
    found = model.call("AssociatorNames", INTEROP_NAMESPACE,
                       ObjectName=profile(VIRTUAL_SYSTEM_PROFILE_ID, "CIM_RegisteredProfile"),
                       AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert [(path.classname, path["Name"]) for path in found] == [("Test_ComputerSystem", "test")]


def test_enumerating_the_dmtf_links_passes_over_the_prefix_links(model):
    links = model.enumerate("CIM_ElementConformsToProfile")
    assert links and {link.classname for link in links} == {"CIM_ElementConformsToProfile"}
    prefix_links = model.enumerate("Test_ElementConformsToProfile")
    assert prefix_links
    assert {link["ConformantStandard"].classname for link in prefix_links} == {
        "Test_RegisteredProfile"}


def test_kvm_redirection_links_the_service_for_libvirt_cim_and_the_consoles_for_dmtf(
        model, libvirt_conn):
    libvirt_conn.defineXML(CONSOLE_GUEST)
    view = model.associators(profile(KVM_REDIRECTION_PROFILE_ID),
                             AssocClass="Test_ElementConformsToProfile")
    assert [(inst.classname, inst["Name"]) for inst in view] == [
        ("Test_ConsoleRedirectionService", "ConsoleRedirectionService")]
    assert facts(model.call("GetInstance", InstanceName=profile(KVM_REDIRECTION_PROFILE_ID))) == (
        KVM_REDIRECTION_PROFILE_ID, 2, "KVM Redirection", "1.0.0")
    dmtf = model.associators(profile(KVM_REDIRECTION_PROFILE_ID, "CIM_RegisteredProfile"),
                             AssocClass="CIM_ElementConformsToProfile",
                             ResultRole="ManagedElement")
    assert [(inst.classname, inst["SystemName"], inst["Name"]) for inst in dmtf] == [
        ("Test_KVMRedirectionSAP", "console-guest", "5907:-1")]


# -- <Prefix>_ReferencedProfile ---------------------------------------------------------------


def test_the_prefix_references_link_the_prefix_profiles_only(model):
    scoping = profile(SYSTEM_VIRTUALIZATION_ID, CreationClassName="Test_RegisteredProfile")
    found = model.associators(scoping, AssocClass="Test_ReferencedProfile")
    ids = [inst["InstanceID"] for inst in found]
    # libvirt-cim's clients check the first profile they get against their own list.
    assert ids[0] == VIRTUAL_SYSTEM_PROFILE_ID
    assert PROFILE_REGISTRATION_ID not in ids
    assert {inst.classname for inst in found} == {"Test_RegisteredProfile"}
    assert facts(found[0])[2:] == ("Virtual System Profile", "1.0.0a")


def test_every_profile_the_prefix_shows_references_or_is_referenced(model):
    for shown in model.enumerate("Test_RegisteredProfile"):
        found = model.associators(profile(shown["InstanceID"]),
                                  AssocClass="Test_ReferencedProfile")
        assert found, shown["InstanceID"]


def test_system_virtualization_references_kvm_redirection_in_either_form(model):
    for classname in ("Test_RegisteredProfile", "CIM_RegisteredProfile"):
        found = model.call("AssociatorNames", INTEROP_NAMESPACE,
                           ObjectName=profile(KVM_REDIRECTION_PROFILE_ID, classname),
                           ResultRole="Dependent")
        assert [path["InstanceID"] for path in found] == [SYSTEM_VIRTUALIZATION_ID]


def test_the_dmtf_references_keep_profile_registration_and_their_direction(model):
    found = model.call("References", INTEROP_NAMESPACE,
                       ObjectName=profile(SYSTEM_VIRTUALIZATION_ID, "CIM_RegisteredProfile"),
                       ResultClass="CIM_ReferencedProfile", Role="Dependent")
    antecedents = {link["Antecedent"]["InstanceID"] for link in found}
    assert {PROFILE_REGISTRATION_ID, VIRTUAL_SYSTEM_PROFILE_ID} <= antecedents
    assert {link.classname for link in found} == {"CIM_ReferencedProfile"}


# -- <Prefix>_ResourceAllocationSettingData --------------------------------------------------


def test_the_prefix_resource_setting_class_finds_every_setting_of_the_guest(model):
    found = model.enumerate("Test_ResourceAllocationSettingData", VIRT_NAMESPACE)
    guest = {(inst.classname, inst["InstanceID"]) for inst in found
             if inst["InstanceID"].startswith("test/")}
    assert ("Test_ProcResourceAllocationSettingData", "test/proc") in guest
    assert ("Test_MemResourceAllocationSettingData", "test/mem") in guest
    assert ("Test_DiskResourceAllocationSettingData", "test/vda") in guest
    # The DSP1047/DSP1050 1.1 forms describe the same disks and NICs under their DMTF classes.
    assert not any("AllocationSettingData" in name and "Resource" not in name
                   for name, _ in guest)
    everything = model.enumerate("CIM_ResourceAllocationSettingData", VIRT_NAMESPACE)
    assert any(inst.classname == "Test_StorageAllocationSettingData" for inst in everything)
