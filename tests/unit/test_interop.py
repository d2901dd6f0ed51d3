"""The interop namespace as clients discover it, through the real Dispatcher.

The repository is the DMTF subset in ``schemas/`` plus two small classes for
central instances in ``root/virt``, served by fake providers; everything
else (operations layer, interop providers) is the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from virtcim import __version__
from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall
from virtcim.interop import (
    PROFILE_REGISTRATION_ID,
    AuthenticationMechanism,
    FunctionalProfile,
    Organization,
    ProfileRegistry,
    profile_instance_id,
    register_interop,
)
from virtcim.operations import Dispatcher, PullSettings
from virtcim.provider import InstanceProvider, ProviderRegistry
from virtcim.repository.compile import SCHEMA_DIR, load_repository

INTEROP = "root/interop"
VIRT = "root/virt"
HOST = "host.example"
#: What pywbem's WBEMServer.version applies to CIM_ObjectManager.Description.
PYWBEM_VERSION_PATTERN = r"^.* (?:version|release) *(.+)?$"

CENTRAL_CLASSES = """
class Fake_HostSystem : CIM_ComputerSystem {
};

class Fake_ComputerSystem : CIM_ComputerSystem {
};
"""

VS_ID = "CIM:DSP1057-VirtualSystem-1.0.0"
SV_ID = "CIM:DSP1042-SystemVirtualization-1.0.0"


class SystemProvider(InstanceProvider):
    """Fake central instances: computer systems by name."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def enumerate_instances(self, ctx, classname, property_list):
        for name in self.names:
            yield ctx.instance(classname, CreationClassName=classname, Name=name)


@pytest.fixture(scope="module")
def repository():
    return load_repository(SCHEMA_DIR, namespaces=[INTEROP, VIRT],
                           aliases={"interop": INTEROP}, extra_mof=[CENTRAL_CLASSES])


class World:
    """A dispatcher over the interop providers and two fake central classes."""

    def __init__(self, repository, **interop: Any) -> None:
        self.registry = ProviderRegistry()
        self.registry.register(VIRT, ["Fake_HostSystem"], SystemProvider([HOST]))
        self.registry.register(VIRT, ["Fake_ComputerSystem"], SystemProvider(["web1", "db1"]))
        self.profiles = ProfileRegistry(INTEROP)
        self.vs = self.profiles.register(
            Organization.DMTF, "Virtual System", "1.0.0", document="DSP1057",
            central_classes=[(VIRT, "Fake_ComputerSystem")])
        self.sv = self.profiles.register(
            Organization.DMTF, "System Virtualization", "1.0.0", document="DSP1042",
            central_classes=[(VIRT, "Fake_HostSystem")],
            references=[self.vs, self.profiles.profile_registration])
        options = {"host": HOST, "auth_mechanisms": [AuthenticationMechanism.BASIC],
                   "pull": PullSettings(max_timeout=120), **interop}
        register_interop(self.registry, repository, self.profiles, **options)
        self.dispatcher = Dispatcher(repository, self.registry, host=HOST)

    def call(self, name: str, namespace: str = INTEROP, **params: Any) -> Any:
        result = self.dispatcher.intrinsic(IntrinsicCall("1", name, namespace, params))
        return list(result) if isinstance(result, Iterator) else result

    def profile_path(self, instance_id: str) -> CIMInstanceName:
        return CIMInstanceName("CIM_RegisteredProfile", {"InstanceID": instance_id},
                               namespace=INTEROP)


@pytest.fixture
def world(repository):
    built = World(repository)
    yield built
    built.dispatcher.close()


def system_path(classname: str, name: str) -> CIMInstanceName:
    return CIMInstanceName(classname, {"CreationClassName": classname, "Name": name},
                           namespace=VIRT)


def keys(paths, key: str) -> list[Any]:
    return sorted(path.keybindings[key] for path in paths)


def located(paths) -> set[tuple[str, str, str]]:
    """Each path as (namespace, class, Name or InstanceID)."""
    return {(path.namespace, path.classname,
             path.keybindings.get("Name") or path.keybindings["InstanceID"]) for path in paths}


def only(items):
    (item,) = items
    return item


# -- the object manager -----------------------------------------------------------


def test_there_is_exactly_one_object_manager(world):
    manager = only(world.call("EnumerateInstances", "interop", ClassName="CIM_ObjectManager"))
    assert manager["ElementName"] == "virtcim"
    assert manager["SystemName"] == HOST
    assert manager["CreationClassName"] == "CIM_ObjectManager"
    assert manager["Started"] is True and manager["EnabledState"] == 2
    assert manager["GatherStatisticalData"] is False


def test_pywbem_reads_the_version_from_the_description(world):
    manager = only(world.call("EnumerateInstances", ClassName="CIM_ObjectManager"))
    match = re.match(PYWBEM_VERSION_PATTERN, manager["Description"])
    assert match is not None and match.group(1) == __version__


def test_object_manager_can_be_read_back_by_its_path(world):
    path = only(world.call("EnumerateInstanceNames", ClassName="CIM_ObjectManager"))
    assert world.call("GetInstance", InstanceName=path)["Name"] == "virtcim"


# -- namespaces ------------------------------------------------------------------------


def test_namespace_paths_name_every_namespace_including_interop(world):
    paths = world.call("EnumerateInstanceNames", ClassName="CIM_Namespace")
    assert keys(paths, "Name") == [INTEROP, VIRT]
    assert all(path.keybindings["ObjectManagerName"] == "virtcim" for path in paths)


@pytest.mark.parametrize("spelling", ["interop", "Interop", "/interop"])
def test_the_interop_namespace_is_listed_under_the_name_the_client_used(world, spelling):
    """pywbem finds the interop namespace as ``interop`` and expects it among the namespaces."""
    paths = world.call("EnumerateInstanceNames", spelling, ClassName="CIM_Namespace")
    assert keys(paths, "Name") == [spelling.strip("/"), VIRT]
    manager = only(world.call("EnumerateInstanceNames", spelling, ClassName="CIM_ObjectManager"))
    found = world.call("AssociatorNames", spelling, ObjectName=manager,
                       AssocClass="CIM_NamespaceInManager")
    assert keys(found, "Name") == [spelling.strip("/"), VIRT]


@pytest.mark.parametrize("spelling", ["interop", INTEROP])
@pytest.mark.parametrize("name", ["interop", INTEROP])
def test_the_interop_namespace_is_read_back_by_either_name(world, spelling, name):
    listed = only(path for path in world.call("EnumerateInstanceNames", INTEROP,
                                              ClassName="CIM_Namespace")
                  if path.keybindings["Name"] == INTEROP)
    listed.keybindings["Name"] = name
    assert world.call("GetInstance", spelling, InstanceName=listed)["Name"] in (name, INTEROP)


def test_a_namespace_the_server_lacks_is_not_found(world):
    listed = world.call("EnumerateInstanceNames", ClassName="CIM_Namespace")[0]
    listed.keybindings["Name"] = "root/elsewhere"
    with pytest.raises(CIMError) as error:
        world.call("GetInstance", InstanceName=listed)
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_namespaces_say_which_schema_they_hold(world):
    for namespace in world.call("EnumerateInstances", ClassName="CIM_Namespace"):
        assert namespace["ClassType"] == 2  # CIM
        assert namespace["ClassTypeVersion"] == "2.49.0"
        assert namespace["ClassInfo"] == 1 and namespace["DescriptionOfClassInfo"] == "CIM 2.49.0"


def test_every_namespace_is_in_the_object_manager(world):
    manager = only(world.call("EnumerateInstanceNames", ClassName="CIM_ObjectManager"))
    found = world.call("AssociatorNames", ObjectName=manager, AssocClass="CIM_NamespaceInManager")
    assert keys(found, "Name") == [INTEROP, VIRT]


# -- the communication mechanism --------------------------------------------------------


def mechanism(world) -> Any:
    return only(world.call("EnumerateInstances",
                           ClassName="CIM_ObjectManagerCommunicationMechanism"))


def test_only_implemented_functional_profiles_are_claimed(world):
    found = mechanism(world)
    assert found.classname == "CIM_CIMXMLCommunicationMechanism"
    assert found["FunctionalProfilesSupported"] == [2, 3, 5, 6, 7, 9, 10, 11, 12]
    assert found["FunctionalProfileDescriptions"] == [
        "Basic Read", "Basic Write", "Instance Manipulation", "Association Traversal",
        "Query Execution", "Indications", "Pulled Read", "Pulled Read Count",
        "Pulled Query Execution"]


def test_protocol_facts_are_advertised(world):
    found = mechanism(world)
    assert found["CommunicationMechanism"] == 2 and found["Version"] == "1.0"
    assert found["MultipleOperationsSupported"] is False
    assert found["AuthenticationMechanismsSupported"] == [3]
    assert found["AuthenticationMechanismDescriptions"] == ["Basic"]
    assert found["PulledEnumerationMaximumOperationTimeout"] == 120
    assert found["PulledEnumerationMinimumOperationTimeout"] == 1
    assert found["PulledEnumerationContinuationOnErrorSupported"] is False


def test_configured_settings_change_what_is_advertised(repository):
    world = World(repository, auth_mechanisms=[AuthenticationMechanism.NONE],
                  functional_profiles=[*FunctionalProfile][:1])
    try:
        found = mechanism(world)
        assert found["AuthenticationMechanismsSupported"] == [2]
        assert found["AuthenticationMechanismDescriptions"] == ["None"]
        assert found["FunctionalProfilesSupported"] == [2]
    finally:
        world.dispatcher.close()


def test_the_mechanism_belongs_to_the_object_manager(world):
    manager = only(world.call("EnumerateInstanceNames", ClassName="CIM_ObjectManager"))
    found = only(world.call("AssociatorNames", ObjectName=manager,
                            AssocClass="CIM_CommMechanismForManager", ResultRole="Dependent"))
    assert found.classname == "CIM_CIMXMLCommunicationMechanism"


# -- registered profiles ---------------------------------------------------------------


def test_registered_profiles_include_profile_registration_itself(world):
    profiles = world.call("EnumerateInstances", "interop", ClassName="CIM_RegisteredProfile")
    assert sorted(p["InstanceID"] for p in profiles) == sorted(
        [PROFILE_REGISTRATION_ID, VS_ID, SV_ID])
    registration = only(p for p in profiles if p["InstanceID"] == PROFILE_REGISTRATION_ID)
    assert registration["RegisteredOrganization"] == 2  # DMTF
    assert registration["RegisteredName"] == "Profile Registration"
    assert registration["RegisteredVersion"] == "1.0.0"
    assert registration["AdvertiseTypes"] == [2]  # not advertised: no SLP


def test_a_profile_is_read_back_by_its_instance_id(world):
    found = world.call("GetInstance", InstanceName=world.profile_path(SV_ID))
    assert found["RegisteredName"] == "System Virtualization"


def test_an_unknown_profile_is_not_found(world):
    with pytest.raises(CIMError) as excinfo:
        world.call("GetInstance", InstanceName=world.profile_path("CIM:DSP9999-Nothing-1.0"))
    assert excinfo.value.status_code == CIM_ERR_NOT_FOUND


def test_a_profile_registered_after_wiring_is_served(world):
    world.profiles.register(Organization.OTHER, "Console", "2.0", other_organization="ACME")
    found = world.call("GetInstance", InstanceName=world.profile_path("ACME:Console-2.0"))
    assert found["RegisteredOrganization"] == 1
    assert found["OtherRegisteredOrganization"] == "ACME"


# -- central instances, both ways and across namespaces -------------------------------------


def test_central_class_methodology_reaches_instances_in_root_virt(world):
    found = world.call("AssociatorNames", ObjectName=world.profile_path(VS_ID),
                       AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert located(found) == {(VIRT, "Fake_ComputerSystem", "web1"),
                              (VIRT, "Fake_ComputerSystem", "db1")}


def test_central_instances_are_reached_through_the_interop_alias(world):
    """pywbem asks in ``interop`` first; the alias must traverse like the canonical name."""
    alias_path = CIMInstanceName("CIM_RegisteredProfile", {"InstanceID": VS_ID})
    found = world.call("AssociatorNames", "interop", ObjectName=alias_path,
                       AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert located(found) == {(VIRT, "Fake_ComputerSystem", "web1"),
                              (VIRT, "Fake_ComputerSystem", "db1")}


def test_a_central_instance_leads_back_to_its_profile(world):
    found = world.call("AssociatorNames", VIRT, ObjectName=system_path("Fake_ComputerSystem",
                                                                         "web1"),
                       AssocClass="CIM_ElementConformsToProfile",
                       ResultRole="ConformantStandard")
    assert located(found) == {(INTEROP, "CIM_RegisteredProfile", VS_ID)}


def test_an_element_of_another_class_conforms_to_its_own_profile_only(world):
    found = world.call("AssociatorNames", VIRT, ObjectName=system_path("Fake_HostSystem", HOST),
                       AssocClass="CIM_ElementConformsToProfile")
    assert located(found) == {(INTEROP, "CIM_RegisteredProfile", SV_ID)}


def test_a_central_class_covers_its_subclasses(world):
    world.profiles.register(Organization.DMTF, "Computer System", "1.0.0", document="DSP1052",
                            central_classes=[(VIRT, "CIM_ComputerSystem")])
    found = world.call("AssociatorNames", VIRT, ObjectName=system_path("Fake_HostSystem", HOST),
                       AssocClass="CIM_ElementConformsToProfile")
    assert keys(found, "InstanceID") == [SV_ID, "CIM:DSP1052-ComputerSystem-1.0.0"]
    central = world.call("AssociatorNames",
                         ObjectName=world.profile_path("CIM:DSP1052-ComputerSystem-1.0.0"),
                         AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert keys(central, "Name") == ["db1", HOST, "web1"]


def test_an_element_that_does_not_exist_is_not_found(world):
    with pytest.raises(CIMError) as err:
        world.call("ReferenceNames", VIRT, ObjectName=system_path("Fake_ComputerSystem", "gone"),
                   ResultClass="CIM_ElementConformsToProfile")
    assert err.value.status_code == CIM_ERR_NOT_FOUND


def test_links_reference_both_ends_with_their_namespaces(world):
    link = only(world.call("References", VIRT, ObjectName=system_path("Fake_HostSystem", HOST),
                           ResultClass="CIM_ElementConformsToProfile"))
    assert link["ConformantStandard"].namespace == INTEROP
    assert link["ManagedElement"].namespace == VIRT
    assert link.path.namespace == VIRT


def test_each_namespace_enumerates_the_links_of_its_elements(world):
    everything = world.call("EnumerateInstanceNames", ClassName="CIM_ElementConformsToProfile")
    in_virt = world.call("EnumerateInstanceNames", VIRT,
                         ClassName="CIM_ElementConformsToProfile")
    # Interop: 3 systems + Profile Registration's 3 profiles; root/virt: the 3 systems.
    assert len(everything) == 6
    assert sorted(p.keybindings["ManagedElement"].keybindings["Name"] for p in in_virt) == [
        "db1", HOST, "web1"]


def test_a_link_is_read_back_by_its_path(world):
    path = only(world.call("ReferenceNames", VIRT,
                           ObjectName=system_path("Fake_ComputerSystem", "db1"),
                           ResultClass="CIM_ElementConformsToProfile"))
    link = world.call("GetInstance", VIRT, InstanceName=path)
    assert link["ManagedElement"].keybindings["Name"] == "db1"


def test_a_link_to_the_wrong_profile_is_not_found(world):
    path = CIMInstanceName("CIM_ElementConformsToProfile", {
        "ConformantStandard": world.profile_path(SV_ID),
        "ManagedElement": system_path("Fake_ComputerSystem", "db1"),
    }, namespace=VIRT)
    with pytest.raises(CIMError) as excinfo:
        world.call("GetInstance", VIRT, InstanceName=path)
    assert excinfo.value.status_code == CIM_ERR_NOT_FOUND


def test_every_profile_conforms_to_profile_registration(world):
    registration = world.profile_path(PROFILE_REGISTRATION_ID)
    found = world.call("AssociatorNames", ObjectName=registration,
                       AssocClass="CIM_ElementConformsToProfile", ResultRole="ManagedElement")
    assert keys(found, "InstanceID") == sorted([PROFILE_REGISTRATION_ID, VS_ID, SV_ID])
    links = world.call("ReferenceNames", ObjectName=registration,
                       ResultClass="CIM_ElementConformsToProfile")
    assert len(links) == len(set(links)) == 3


def test_get_central_instances_returns_the_central_paths(world):
    call = ExtrinsicCall("1", "GetCentralInstances", world.profile_path(SV_ID))
    result = world.dispatcher.extrinsic(call)
    assert result.return_value == 0
    assert located(result.out_params["CentralInstances"]) == {
        (VIRT, "Fake_HostSystem", HOST)}


# -- referenced profiles ---------------------------------------------------------------------


def test_referenced_profiles_are_antecedents_of_the_referencing_profile(world):
    found = world.call("AssociatorNames", ObjectName=world.profile_path(SV_ID),
                       AssocClass="CIM_ReferencedProfile", ResultRole="Antecedent")
    assert keys(found, "InstanceID") == sorted([PROFILE_REGISTRATION_ID, VS_ID])


def test_a_component_profile_leads_up_to_its_scoping_profile(world):
    found = world.call("AssociatorNames", ObjectName=world.profile_path(VS_ID),
                       AssocClass="CIM_ReferencedProfile", ResultRole="Dependent")
    assert keys(found, "InstanceID") == [SV_ID]


# -- the registry API --------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    ((Organization.DMTF, "System Virtualization", "1.0.0", "DSP1042"), SV_ID),
    ((Organization.DMTF, "Profile Registration", "1.0.0", "DSP1033"), PROFILE_REGISTRATION_ID),
    ((Organization.SNIA, "Server", "1.2.0"), "SNIA:Server-1.2.0"),
])
def test_instance_ids_follow_libvirt_cim(args, expected):
    assert profile_instance_id(*args) == expected


def test_a_libvirt_cim_instance_id_can_be_kept_as_it_was():
    profiles = ProfileRegistry()
    profile = profiles.register(Organization.DMTF, "Virtual System Profile", "1.0.0a",
                                instance_id="CIM:DSP1057-VirtualSystem-1.0.0a")
    assert profiles.get("CIM:DSP1057-VirtualSystem-1.0.0a") is profile


def test_a_profile_cannot_be_registered_twice():
    profiles = ProfileRegistry()
    with pytest.raises(ValueError, match="already registered"):
        profiles.register(Organization.DMTF, "Profile Registration", "1.0.0", document="DSP1033")


def test_a_referenced_profile_must_be_registered_first():
    elsewhere = ProfileRegistry().register(Organization.DMTF, "Virtual System", "1.0.0")
    with pytest.raises(ValueError, match="register them first"):
        ProfileRegistry().register(Organization.DMTF, "System Virtualization", "1.0.0",
                                   references=[elsewhere])


def test_an_other_organization_needs_its_name():
    with pytest.raises(ValueError, match="other_organization"):
        ProfileRegistry().register(Organization.OTHER, "Console", "1.0")


def test_wiring_refuses_an_interop_namespace_the_repository_lacks(repository):
    with pytest.raises(ValueError, match="root/PG_InterOp"):
        register_interop(ProviderRegistry(), repository, ProfileRegistry("root/PG_InterOp"),
                         host=HOST, auth_mechanisms=[AuthenticationMechanism.NONE],
                         pull=PullSettings())
