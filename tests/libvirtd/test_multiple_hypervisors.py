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
