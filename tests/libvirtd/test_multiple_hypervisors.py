"""One server, several hypervisors: each brings its own class prefix into root/virt."""

from __future__ import annotations

import pywbem

from tests.http.servers import running_server


def test_guests_of_every_hypervisor_answer_through_the_dmtf_classes(
        tmp_path, qemu_uri, qemu_conn, scratch_guest_name, tiny_guest_xml):
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    with running_server(tmp_path, uris=("test:///default", qemu_uri)) as server:
        conn = server.connection()
        guests = {(path.classname, path["Name"])
                  for path in conn.EnumerateInstanceNames("CIM_ComputerSystem")}
        assert ("Test_ComputerSystem", "test") in guests
        assert ("KVM_ComputerSystem", name) in guests
        assert {"Test_HostSystem", "KVM_HostSystem"} <= {classname for classname, _ in guests}

        kvm_guest = pywbem.CIMInstanceName("KVM_ComputerSystem", {
            "CreationClassName": "KVM_ComputerSystem", "Name": name}, namespace="root/virt")
        hosts = conn.AssociatorNames(kvm_guest, AssocClass="CIM_HostedDependency",
                                     ResultRole="Antecedent")
        assert [host.classname for host in hosts] == ["KVM_HostSystem"]

        services = conn.EnumerateInstanceNames("CIM_VirtualSystemManagementService")
        assert {path.classname for path in services} == {
            "Test_VirtualSystemManagementService", "KVM_VirtualSystemManagementService"}


def test_each_prefix_shows_the_profiles_and_the_dmtf_class_lists_them_once(
        tmp_path, qemu_uri, qemu_conn, scratch_guest_name, tiny_guest_xml):
    name = scratch_guest_name()
    qemu_conn.defineXML(tiny_guest_xml(name))
    virtual_system = "CIM:DSP1057-VirtualSystem-1.0.0a"
    with running_server(tmp_path, uris=("test:///default", qemu_uri)) as server:
        conn = server.connection("root/interop")
        dmtf = [inst["InstanceID"] for inst in conn.EnumerateInstances("CIM_RegisteredProfile")]
        assert len(dmtf) == len(set(dmtf))
        for prefix, guest in (("KVM", name), ("Test", "test")):
            shown = conn.EnumerateInstanceNames(f"{prefix}_RegisteredProfile")
            # all but the server's own: Profile Registration and Indications
            assert len(shown) == len(dmtf) - 2
            profile = pywbem.CIMInstanceName(f"{prefix}_RegisteredProfile",
                                             {"InstanceID": virtual_system})
            guests = conn.AssociatorNames(profile,
                                          AssocClass=f"{prefix}_ElementConformsToProfile")
            assert {path.classname for path in guests} == {f"{prefix}_ComputerSystem"}
            assert guest in {path["Name"] for path in guests}
        dmtf_profile = pywbem.CIMInstanceName("CIM_RegisteredProfile",
                                              {"InstanceID": virtual_system})
        every = conn.AssociatorNames(dmtf_profile, AssocClass="CIM_ElementConformsToProfile",
                                     ResultRole="ManagedElement")
        assert {("KVM_ComputerSystem", name), ("Test_ComputerSystem", "test")} <= {
            (path.classname, path["Name"]) for path in every}
        assert len(every) == len(set(every))
