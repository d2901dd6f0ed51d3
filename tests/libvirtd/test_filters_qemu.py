"""libvirt's network filters over HTTP on a real daemon: read as libvirt has them, and
created, linked, applied to a guest's interface and deleted through CIM, as libvirt-cim's
clients (cimtest's FilterList tests) do it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libvirt
import pytest
import pywbem
from lxml import etree

from tests.http.servers import running_server

pytestmark = [pytest.mark.http]

BRIDGED_MAC = "52:54:00:f1:17:01"
USER_MAC = "52:54:00:f1:17:02"


@pytest.fixture(scope="module")
def cim(qemu_uri: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[pywbem.WBEMConnection]:
    """One server for the module: each test names its own filters and guests."""
    with running_server(tmp_path_factory.mktemp("server"), uris=(qemu_uri,)) as server:
        yield server.connection()


@pytest.fixture
def define_filter(qemu_conn: libvirt.virConnect,
                  scratch_filter_name: Callable[[], str]) -> Callable[[str], str]:
    """``define_filter(body)``: a filter of a scratch name with ``body`` inside, through
    libvirt; returns its name."""

    def define(body: str) -> str:
        name = scratch_filter_name()
        qemu_conn.nwfilterDefineXML(f"<filter name='{name}' chain='root'>{body}</filter>")
        return name

    return define


def guest_with_device(qemu_conn: libvirt.virConnect, tiny_guest_xml: Callable[[str], str],
                      name: str, device: str) -> libvirt.virDomain:
    """A defined (never started) tiny guest with one more device."""
    domain = etree.fromstring(tiny_guest_xml(name))
    domain.find("devices").append(etree.fromstring(device))
    return qemu_conn.defineXML(etree.tostring(domain, encoding="unicode"))


def filter_of(domain: libvirt.virDomain) -> str | None:
    found = etree.fromstring(domain.XMLDesc(0)).find("devices/interface/filterref")
    return found.get("filter") if found is not None else None


def list_path(cim: pywbem.WBEMConnection, name: str) -> pywbem.CIMInstanceName:
    [path] = [path for path in cim.EnumerateInstanceNames("KVM_FilterList")
              if path["Name"] == name]
    return path


def failure(call: Callable[[], object]) -> pywbem.CIMError:
    with pytest.raises(pywbem.CIMError) as error:
        call()
    return error.value


def test_every_libvirt_filter_is_a_filter_list_named_by_it_with_its_uuid(
        cim, qemu_conn, define_filter):
    define_filter("<rule action='accept' direction='in'/>")
    shown = {(inst["InstanceID"], inst["Name"]) for inst in cim.EnumerateInstances("KVM_FilterList")}
    assert shown == {(each.UUIDString(), each.name()) for each in qemu_conn.listAllNWFilters()}


def test_a_filters_rules_are_its_entries_and_the_filters_it_includes_are_nested_both_ways(
        cim, define_filter):
    child = define_filter("<rule action='return' direction='out'><mac srcmacaddr='$MAC'/></rule>")
    parent = define_filter(
        "<rule action='drop' direction='out' priority='500'>"
        "<ip dstipaddr='224.0.0.0' dstipmask='4'/></rule>"
        f"<filterref filter='{child}'/>"
        "<rule action='accept' direction='inout'/>")
    parent_path, child_path = list_path(cim, parent), list_path(cim, child)

    entries = cim.Associators(parent_path, ResultClass="CIM_FilterEntryBase")
    assert sorted((entry.classname, entry["Name"]) for entry in entries) == [
        ("KVM_FilterEntry", f"{parent}:1"), ("KVM_IPHeadersFilter", f"{parent}:0")]
    ip_rule = cim.GetInstance(next(e.path for e in entries if e["Name"] == f"{parent}:0"))
    assert (ip_rule["Action"], ip_rule["Direction"], ip_rule["HdrDestMask"]) == (
        2, 2, [240, 0, 0, 0])
    [group] = cim.AssociatorNames(ip_rule.path, AssocClass="KVM_EntriesInFilterList")
    assert group["Name"] == parent

    def nested(path: pywbem.CIMInstanceName, **role: str) -> list[str]:
        return [found["Name"] for found in
                cim.AssociatorNames(path, AssocClass="KVM_NestedFilterList", **role)]

    assert nested(parent_path, Role="Antecedent") == [child]
    assert nested(child_path, Role="Dependent") == [parent]
    assert nested(child_path) == [parent]  # both roles, as DSP0200 asks
    [host] = cim.EnumerateInstanceNames("KVM_HostSystem")
    assert parent in {path["Name"] for path in
                      cim.AssociatorNames(host, AssocClass="KVM_HostedFilterList")}


def test_a_filter_is_created_nested_applied_and_deleted_through_cim(
        cim, qemu_conn, tiny_guest_xml, scratch_guest_name, scratch_filter_name, define_filter):
    included = define_filter("<rule action='accept' direction='in'/>")
    domain = guest_with_device(
        qemu_conn, tiny_guest_xml, scratch_guest_name(),
        f"<interface type='bridge'><mac address='{BRIDGED_MAC}'/>"
        "<source bridge='virtcim-nobr0'/></interface>")
    name = scratch_filter_name()

    created = cim.CreateInstance(pywbem.CIMInstance("KVM_FilterList", {"Name": name}))
    assert created["Name"] == name
    assert qemu_conn.nwfilterLookupByName(name).UUIDString() == cim.GetInstance(created)[
        "InstanceID"]

    link = pywbem.CIMInstance("KVM_NestedFilterList", {
        "Antecedent": created, "Dependent": list_path(cim, included)})
    nested = cim.CreateInstance(link)
    refs = etree.fromstring(qemu_conn.nwfilterLookupByName(name).XMLDesc(0)).findall("filterref")
    assert [ref.get("filter") for ref in refs] == [included]
    assert failure(lambda: cim.CreateInstance(link)).status_code == pywbem.CIM_ERR_ALREADY_EXISTS

    [port] = [path for path in cim.EnumerateInstanceNames("KVM_NetworkPort")
              if path["SystemName"] == domain.name()]
    applied = cim.CreateInstance(pywbem.CIMInstance("KVM_AppliedFilterList", {
        "Antecedent": port, "Dependent": created}))
    assert filter_of(domain) == name
    assert [found["DeviceID"] for found in
            cim.AssociatorNames(created, AssocClass="KVM_AppliedFilterList")] == [
        f"{domain.name()}/{BRIDGED_MAC}"]
    assert cim.GetInstance(applied).path.keybindings == applied.keybindings

    in_use = failure(lambda: cim.DeleteInstance(created))
    assert in_use.status_code == pywbem.CIM_ERR_FAILED
    assert f"guest {domain.name()!r}" in in_use.status_description
    assert qemu_conn.nwfilterLookupByName(name)

    cim.DeleteInstance(applied)
    assert filter_of(domain) is None
    cim.DeleteInstance(nested)
    assert etree.fromstring(qemu_conn.nwfilterLookupByName(name).XMLDesc(0)).find(
        "filterref") is None
    cim.DeleteInstance(created)
    assert name not in {each.name() for each in qemu_conn.listAllNWFilters()}
    assert failure(lambda: cim.DeleteInstance(created)).status_code == pywbem.CIM_ERR_NOT_FOUND


def test_a_filter_name_libvirt_already_has_is_refused(cim, define_filter):
    name = define_filter("")
    error = failure(lambda: cim.CreateInstance(pywbem.CIMInstance("KVM_FilterList",
                                                                  {"Name": name})))
    assert error.status_code == pywbem.CIM_ERR_ALREADY_EXISTS



@pytest.mark.parametrize(("device", "classname", "code", "says"), [
    # libvirt keeps filters only on interfaces with a tap device
    (f"<interface type='user'><mac address='{USER_MAC}'/></interface>", "KVM_NetworkPort",
     pywbem.CIM_ERR_FAILED, "keeps no filter on interface"),
    # a device that is no network port, whatever its DeviceID
    ("<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>", "KVM_LogicalDisk",
     pywbem.CIM_ERR_INVALID_PARAMETER, "names no network port"),
])
def test_a_filter_applied_where_it_cannot_be_is_refused_and_the_guest_left_as_it_was(
        cim, qemu_conn, tiny_guest_xml, scratch_guest_name, define_filter,
        device, classname, code, says):
    name = define_filter("<rule action='accept' direction='in'/>")
    domain = guest_with_device(qemu_conn, tiny_guest_xml, scratch_guest_name(), device)
    before = domain.XMLDesc(0)
    [antecedent] = [path for path in cim.EnumerateInstanceNames(classname)
                    if path["SystemName"] == domain.name()]

    error = failure(lambda: cim.CreateInstance(pywbem.CIMInstance("KVM_AppliedFilterList", {
        "Antecedent": antecedent, "Dependent": list_path(cim, name)})))
    assert error.status_code == code
    assert says in error.status_description
    assert domain.XMLDesc(0) == before
