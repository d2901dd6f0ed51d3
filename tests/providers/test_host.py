"""The host, the generated leaf classes and the provider registration."""

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

import providers
from providers.classes import (
    STANDARD_PREFIXES,
    VIRT_NAMESPACE,
    leaf_classes_mof,
    virt_base_classes,
)
from providers.virt import Hypervisor
from virtcim.interop import ProfileRegistry
from virtcim.provider import ProviderRegistry


def host_path(name, classname="Test_HostSystem"):
    return CIMInstanceName("Test_HostSystem", {"CreationClassName": classname, "Name": name},
                           namespace=VIRT_NAMESPACE)


# -- HostSystem -------------------------------------------------------------------------


def test_one_host_named_as_libvirt_names_it(cim, libvirt_conn):
    [host] = cim.enumerate("Test_HostSystem")
    assert host.path.keybindings == {"CreationClassName": "Test_HostSystem",
                                     "Name": libvirt_conn.getHostname()}
    assert host["EnabledState"] == 2 and host["OperationalStatus"] == [2]
    assert host["RequestedState"] == 12 and host["NameFormat"] == "IP"


def test_the_host_is_got_by_its_path(cim):
    path = host_path(cim.hypervisor.hostname)
    assert cim.get(path)["ElementName"] == cim.hypervisor.hostname


@pytest.mark.parametrize("name, classname, key", [
    ("elsewhere.example.org", "Test_HostSystem", "Name"),
    (None, "KVM_HostSystem", "CreationClassName"),
])
def test_another_host_is_not_found_naming_the_wrong_key(cim, name, classname, key):
    with pytest.raises(CIMError) as error:
        cim.get(host_path(name or cim.hypervisor.hostname, classname))
    assert error.value.status_code == CIM_ERR_NOT_FOUND
    # libvirt-cim's words, which its clients compare.
    assert f"No such instance ({key})" in error.value.status_description


# -- leaf classes ----------------------------------------------------------------------------


def test_every_virt_class_has_a_leaf_per_standard_prefix(repository):
    bases = virt_base_classes(repository)
    assert {"Virt_ComputerSystem", "Virt_HostSystem", "Virt_SystemDevice"} <= set(bases)
    for base in bases:
        generic = base.split("_", 1)[1]
        for prefix in STANDARD_PREFIXES:
            leaf = repository.get_class(VIRT_NAMESPACE, f"{prefix}_{generic}")
            assert repository.is_subclass(VIRT_NAMESPACE, leaf.superclass, base) or (
                leaf.superclass == f"{prefix}_ResourceAllocationSettingData")


def test_every_resource_setting_of_a_prefix_derives_from_its_resource_setting(repository):
    below = [name for name in virt_base_classes(repository) if repository.get_class(
        VIRT_NAMESPACE, name).superclass == "Virt_ResourceAllocationSettingData"]
    assert {"Virt_DiskResourceAllocationSettingData",
            "Virt_NetPoolResourceAllocationSettingData"} <= set(below)
    for base in below:
        generic = base.split("_", 1)[1]
        for prefix in STANDARD_PREFIXES:
            leaf = repository.get_class(VIRT_NAMESPACE, f"{prefix}_{generic}")
            assert leaf.superclass == f"{prefix}_ResourceAllocationSettingData"
            own = repository.get_class(VIRT_NAMESPACE, base).properties
            assert set(own) <= set(leaf.properties)
    assert repository.get_class(VIRT_NAMESPACE, "KVM_ResourceAllocationSettingData"
                                ).superclass == "Virt_ResourceAllocationSettingData"
    disk = repository.get_class(VIRT_NAMESPACE, "KVM_DiskResourceAllocationSettingData")
    assert disk.properties["VirtualDevice"].class_origin == "KVM_DiskResourceAllocationSettingData"
    assert "Version" in disk.qualifiers and "Description" in disk.qualifiers


@pytest.mark.parametrize("form, dmtf", [
    ("StorageAllocationSettingData", "CIM_StorageAllocationSettingData"),
    ("EthernetPortAllocationSettingData", "CIM_EthernetPortAllocationSettingData"),
])
def test_the_dmtf_1_1_setting_forms_stay_below_their_dmtf_classes(repository, form, dmtf):
    leaf = f"KVM_{form}"
    assert repository.is_subclass(VIRT_NAMESPACE, leaf, dmtf)
    assert not repository.is_subclass(VIRT_NAMESPACE, leaf, "KVM_ResourceAllocationSettingData")


@pytest.mark.parametrize("namespace", [VIRT_NAMESPACE, "root/interop"])
def test_each_prefix_has_the_interop_classes_libvirt_cims_clients_name(repository, namespace):
    for prefix in STANDARD_PREFIXES:
        profile = repository.get_class(namespace, f"{prefix}_RegisteredProfile")
        assert profile.superclass == "CIM_RegisteredProfile"
        conforms = repository.get_class(namespace, f"{prefix}_ElementConformsToProfile")
        assert conforms.superclass == "CIM_ElementConformsToProfile"
        assert conforms.qualifiers["Association"].value is True
        assert conforms.properties["ConformantStandard"].reference_class == profile.classname
        referenced = repository.get_class(namespace, f"{prefix}_ReferencedProfile")
        assert referenced.superclass == "CIM_ReferencedProfile"
        assert {referenced.properties[end].reference_class
                for end in ("Antecedent", "Dependent")} == {profile.classname}


def test_leaves_keep_the_dmtf_ancestry_and_association_qualifier(repository):
    assert repository.is_subclass(VIRT_NAMESPACE, "KVM_ComputerSystem", "CIM_ComputerSystem")
    assert "UUID" in repository.get_class(VIRT_NAMESPACE, "Xen_ComputerSystem").properties
    association = repository.get_class(VIRT_NAMESPACE, "LXC_HostedDependency")
    assert association.qualifiers["Association"].value is True


def test_leaves_are_generated_for_a_configured_hypervisors_prefix(repository):
    mof = leaf_classes_mof(repository, ["Vbox"])
    assert "class Vbox_ComputerSystem : Virt_ComputerSystem {" in mof
    assert "[Association ( true )]\nclass Vbox_SystemDevice : Virt_SystemDevice {" in mof
    assert "class Vbox_DiskResourceAllocationSettingData : Vbox_ResourceAllocationSettingData {" in mof
    assert "class Vbox_RegisteredProfile : CIM_RegisteredProfile {" in mof
    assert "KVM_" not in mof


# -- registration ------------------------------------------------------------------------


def test_register_providers_serves_each_leaf_and_declares_the_profiles(repository, hypervisor):
    registry = ProviderRegistry()
    profiles = ProfileRegistry()
    providers.register_providers(registry, repository, [hypervisor], profiles)
    served = registry.classnames(VIRT_NAMESPACE)
    assert {"test_computersystem", "test_hostsystem", "test_systemdevice",
            "test_hostedservice", "test_controller"} <= set(served)
    virtual_system = profiles.get("CIM:DSP1057-VirtualSystem-1.0.0a")
    system_virtualization = profiles.get("CIM:DSP1042-SystemVirtualization-1.0.0")
    assert virtual_system.central_classes[0].classname == "Virt_ComputerSystem"
    assert system_virtualization.central_classes[0].classname == "Virt_HostSystem"
    assert virtual_system.instance_id in system_virtualization.references


def test_register_providers_refuses_a_hypervisor_without_leaf_classes(repository):
    with pytest.raises(ValueError, match="Vbox_"):
        providers.register_providers(ProviderRegistry(), repository,
                                     [Hypervisor("vbox:///session")])
