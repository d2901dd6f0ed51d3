"""HostedDependency, SystemDevice, ElementCapabilities and HostedService, both ways."""

import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.links import LinkProvider, hosted_service
from providers.paths import guest_capabilities_path, host_path
from virtcim.provider import RequestContext


@pytest.fixture
def host(cim):
    return CIMInstanceName("Test_HostSystem", {"CreationClassName": "Test_HostSystem",
                                               "Name": cim.hypervisor.hostname},
                           namespace=VIRT_NAMESPACE)


def keys(paths):
    return sorted((path.classname, tuple(sorted(path.keybindings.items()))) for path in paths)


def test_hosted_dependency_has_the_host_as_antecedent(cim, host, define_guest):
    define_guest("second")
    [link] = cim.references(cim.guest("second"), ResultClass="Test_HostedDependency")
    assert link["Antecedent"].keybindings == host.keybindings
    assert link["Dependent"]["Name"] == "second"


def test_the_host_reaches_every_guest_and_each_guest_its_host(cim, host, define_guest):
    define_guest("second")
    guests = cim.associator_names(host, AssocClass="Test_HostedDependency", Role="Antecedent")
    assert {path["Name"] for path in guests} == {"test", "second"}
    assert cim.associator_names(host, AssocClass="Test_HostedDependency", Role="Dependent") == []
    [found] = cim.associators(cim.guest("second"), AssocClass="Test_HostedDependency",
                              ResultRole="Antecedent")
    assert found["Name"] == cim.hypervisor.hostname


def test_system_device_links_a_guest_to_its_own_devices_only(cim, define_guest):
    define_guest("second")
    devices = cim.associator_names(cim.guest("second"), AssocClass="Test_SystemDevice",
                                   Role="GroupComponent")
    assert {path["DeviceID"] for path in devices} == {"second/0", "second/1", "second/mem",
                                                     "second/vda"}
    assert keys(devices) == keys(path for path in cim.names("CIM_LogicalDevice")
                                 if path["SystemName"] == "second")


def test_a_device_reaches_its_guest(cim, define_guest):
    define_guest("second")
    disk = CIMInstanceName("Test_LogicalDisk", {
        "SystemCreationClassName": "Test_ComputerSystem", "SystemName": "second",
        "CreationClassName": "Test_LogicalDisk", "DeviceID": "second/vda"},
        namespace=VIRT_NAMESPACE)
    [guest] = cim.associators(disk, AssocClass="Test_SystemDevice")
    assert guest["Name"] == "second"
    [link] = cim.references(disk, Role="PartComponent")
    assert link.classname == "Test_SystemDevice"


def test_result_class_narrows_a_guests_devices(cim):
    disks = cim.associator_names(cim.guest("test"), ResultClass="CIM_LogicalDisk")
    assert [path["DeviceID"] for path in disks] == ["test/vda"]


def test_element_capabilities_both_ways(cim):
    [capabilities] = cim.associators(cim.guest("test"), AssocClass="Test_ElementCapabilities")
    assert capabilities["InstanceID"] == "test"
    [guest] = cim.associator_names(capabilities.path, AssocClass="Test_ElementCapabilities",
                                   ResultRole="ManagedElement")
    assert guest["Name"] == "test"


def test_links_of_a_missing_guest_are_not_found(cim):
    with pytest.raises(CIMError) as err:
        cim.references(cim.guest("no-such-guest"))
    assert err.value.status_code == CIM_ERR_NOT_FOUND


def test_every_link_enumerated_can_be_got(cim, define_guest):
    define_guest("second")
    for association in ("Test_HostedDependency", "Test_SystemDevice", "Test_ElementCapabilities"):
        links = cim.enumerate(association)
        assert links, association
        for link in links:
            assert cim.get(link.path).path.keybindings == link.path.keybindings


def test_a_link_to_a_missing_device_is_not_found(cim):
    [link] = [link for link in cim.enumerate("Test_SystemDevice")
              if link["PartComponent"]["DeviceID"] == "test/vda"]
    path = link.path.copy()
    path.keybindings["PartComponent"].keybindings["DeviceID"] = "test/vdz"
    with pytest.raises(CIMError) as error:
        cim.get(path)
    assert error.value.status_code == CIM_ERR_NOT_FOUND


def test_traversals_from_one_guest_read_only_that_guest(cim, host, monkeypatch):
    def no_listing():
        raise AssertionError("a traversal from one guest listed every domain")

    monkeypatch.setattr(cim.hypervisor, "domains", no_listing)
    ends = cim.associator_names(cim.guest("test"))
    assert {path.classname for path in ends} >= {
        "Test_HostSystem", "Test_EnabledLogicalElementCapabilities", "Test_Processor",
        "Test_Memory", "Test_LogicalDisk", "Test_NetworkPort"}


def test_another_hypervisors_guest_is_not_found_here(cim):
    kvm_guest = CIMInstanceName("KVM_ComputerSystem", {"CreationClassName": "KVM_ComputerSystem",
                                                       "Name": "test"}, namespace=VIRT_NAMESPACE)
    with pytest.raises(CIMError) as err:
        cim.references(kvm_guest)
    assert err.value.status_code == CIM_ERR_NOT_FOUND


def test_a_hosted_service_link_is_made_from_the_services_path(cim, repository, host):
    """HostedService's hook: a function giving the service's path per hypervisor."""

    def service(ctx, hv):
        return guest_capabilities_path(ctx, hv, "test")

    provider = LinkProvider(cim.hypervisor,
                            [hosted_service("EnabledLogicalElementCapabilities", service)])
    ctx = RequestContext(VIRT_NAMESPACE, repository, cim.dispatcher)
    [link] = provider.references(ctx, "Test_HostedService", host, "Antecedent")
    assert link["Dependent"]["InstanceID"] == "test"
    assert link["Antecedent"] == host_path(ctx, cim.hypervisor)
    assert list(provider.references(ctx, "Test_HostedService", host, "Dependent")) == []
    [back] = provider.references(ctx, "Test_HostedService", link["Dependent"], None)
    assert back.path == link.path


def test_a_link_whose_two_ends_hold_one_class_is_followed_from_either_role(
        cim, host, repository):
    """Links between objects of one class (a filter including another): the links
    at every role the source can stand at, as DSP0200 asks when no Role is given."""

    asked = []

    class HostToItself:
        ends = {"Antecedent": frozenset({"HostSystem"}), "Dependent": frozenset({"HostSystem"})}

        def all_links(self, ctx, hv):
            return [{"Antecedent": host_path(ctx, hv), "Dependent": host_path(ctx, hv)}]

        def links_at(self, ctx, hv, role, source):
            asked.append(role)
            return self.all_links(ctx, hv)

    provider = LinkProvider(cim.hypervisor, [HostToItself()])
    ctx = RequestContext(VIRT_NAMESPACE, repository, cim.dispatcher)
    assert len(list(provider.references(ctx, "Test_HostedDependency", host, None))) == 2
    assert asked == ["Antecedent", "Dependent"]
    assert len(list(provider.references(ctx, "Test_HostedDependency", host, "dependent"))) == 1
    assert asked[2:] == ["Dependent"]
