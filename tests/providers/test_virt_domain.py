"""Domains on the test driver (providers.virt.domain): state changes and live changes."""

import libvirt
import pytest
from lxml import etree
from pywbem import CIM_ERR_FAILED, CIM_ERR_INVALID_PARAMETER, CIM_ERR_NOT_SUPPORTED, CIMError

from providers.virt import DomainState, DomainXML

SECURE_CONFIG = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


def canonical(element):
    return etree.tostring(element, method="c14n")


def element(text):
    return etree.fromstring(text)


def persistent_xml(hypervisor, name):
    return hypervisor.run("guest", lambda conn: conn.lookupByName(name).XMLDesc(SECURE_CONFIG))


def test_default_test_domain_reads(hypervisor):
    domain = hypervisor.domain("test")
    assert domain.state is DomainState.RUNNING and domain.is_active
    xml = domain.xml
    assert (xml.name, xml.memory_kib, xml.current_memory_kib, xml.max_vcpus) == (
        "test",
        8388608,
        2097152,
        2,
    )
    assert (xml.os_type, xml.arch, xml.boot_devices) == ("hvm", "i686", ["hd"])
    assert [(d.device_id, d.source, d.target_bus) for d in xml.disks()] == [
        ("vda", "/guest/diskimage1", "virtio")
    ]
    assert [(i.device_id, i.type, i.source) for i in xml.interfaces()] == [
        ("aa:bb:cc:dd:ee:ff", "network", "default")
    ]


def test_shared_domain_xml_refuses_edits(hypervisor):
    with pytest.raises(TypeError, match="read-only"):
        hypervisor.domain("test").xml.set_memory(1024)


def test_defined_domain_reads_back_with_unmodelled_content(hypervisor, rich_xml, guest_name):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    assert (
        domain.name == guest_name and domain.state is DomainState.SHUTOFF and not domain.is_active
    )
    xml = domain.xml
    assert (
        xml.root.find(
            "metadata/{http://example.org/app/1}info/{http://example.org/app/1}owner"
        ).text
        == "ops & dev"
    )
    assert xml.root.find("seclabel").get("model") == "selinux"
    assert xml.graphics()[0].has_password
    assert [d.device_id for d in xml.disks()] == ["vda", "hdc"]
    assert domain.is_persistent()


def test_redefining_an_edited_config_keeps_what_libvirt_kept(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    config = domain.config()
    kept = [canonical(config.root.find("metadata")), canonical(config.root.find("seclabel"))]
    config.set_memory(1048576)
    config.remove_device("hdc")
    changed = domain.redefine(config)
    assert changed.uuid == domain.uuid
    assert changed.xml.memory_kib == 1048576 and [d.device_id for d in changed.xml.disks()] == [
        "vda"
    ]
    again = changed.config()
    assert [canonical(again.root.find("metadata")), canonical(again.root.find("seclabel"))] == kept
    assert again.graphics()[0].has_password


def test_state_changes_reach_libvirt(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    states = []
    for change in ("start", "suspend", "resume", "reboot", "reset", "shutdown", "start", "destroy"):
        getattr(domain, change)()
        states.append(hypervisor.domain(domain.name).state)
    assert states == [DomainState.RUNNING, DomainState.PAUSED, DomainState.RUNNING, DomainState.RUNNING,
                      DomainState.RUNNING, DomainState.SHUTOFF, DomainState.RUNNING, DomainState.SHUTOFF]  # fmt: skip


def test_a_saved_state_is_resumed_by_a_start_or_discarded(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    domain.save_state()
    saved = hypervisor.domain(domain.name)
    assert (saved.state, saved.has_saved_state()) == (DomainState.SHUTOFF, True)
    saved.start()
    resumed = hypervisor.domain(domain.name)
    assert (resumed.state, resumed.has_saved_state()) == (DomainState.RUNNING, False)
    resumed.save_state()
    resumed.discard_saved_state()
    discarded = hypervisor.domain(domain.name)
    assert (discarded.state, discarded.has_saved_state()) == (DomainState.SHUTOFF, False)


def test_a_failed_transaction_starts_the_guest_it_saved_again(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    domain = hypervisor.domain(domain.name)
    with pytest.raises(RuntimeError), domain.transaction():
        domain.save_state()
        raise RuntimeError("a later step failed")
    after = hypervisor.domain(domain.name)
    assert (after.state, after.has_saved_state()) == (DomainState.RUNNING, False)


def test_invalid_state_change_is_a_cim_error_naming_the_guest(hypervisor, rich_xml, guest_name):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(CIMError) as raised:
        domain.destroy()
    assert raised.value.status_code == CIM_ERR_FAILED
    assert (
        f"cannot destroy guest '{guest_name}' on test:///default" in raised.value.status_description
    )
    assert "not running" in raised.value.status_description


def test_live_memory_and_vcpu_changes_reach_both_live_and_config(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    running = hypervisor.domain(domain.name)
    running.set_memory(131072, live=True)
    running.set_vcpus(2, live=True)
    after = hypervisor.domain(domain.name)
    assert (after.xml.current_memory_kib, after.xml.vcpus) == (131072, 2)
    assert (after.config().current_memory_kib, after.config().vcpus) == (131072, 2)


def test_config_only_change_leaves_the_running_guest_alone(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    hypervisor.domain(domain.name).set_memory(131072, live=False)
    after = hypervisor.domain(domain.name)
    assert after.xml.current_memory_kib == 262144
    assert after.config().current_memory_kib == 131072


def test_device_hotplug_unsupported_by_the_driver_is_not_supported(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(CIMError) as raised:
        domain.attach_device(
            element("<disk type='file'><source file='/c'/><target dev='vdc'/></disk>"), live=True
        )
    assert raised.value.status_code == CIM_ERR_NOT_SUPPORTED


def test_invalid_definition_is_an_invalid_parameter(hypervisor):
    bad = DomainXML.from_string("<domain type='test'><name>a/b</name><memory>1024</memory>"
                                "<os><type>hvm</type></os></domain>")  # fmt: skip
    with pytest.raises(CIMError) as raised:
        hypervisor.define(bad)
    assert raised.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert "cannot define guest 'a/b' on test:///default" in raised.value.status_description


def test_undefine_removes_the_definition(hypervisor, rich_xml, guest_name):
    hypervisor.define(DomainXML.from_string(rich_xml)).undefine()
    assert guest_name not in [d.name for d in hypervisor.domains()]


