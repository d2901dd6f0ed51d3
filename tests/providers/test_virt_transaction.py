"""Transactions (providers.virt.transaction): a failed multi-step change leaves libvirt as it was."""

import libvirt
import pytest
from mock import patch
from pywbem import CIMError

from providers.virt import DomainState, DomainXML

SECURE_CONFIG = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


def persistent_xml(hypervisor, name):
    return hypervisor.run("guest", lambda conn: conn.lookupByName(name).XMLDesc(SECURE_CONFIG))


def fail_once(real):
    """A replacement for a libvirt method that fails on its first call only."""
    calls = []

    def replacement(self, *args):
        calls.append(args)
        if len(calls) == 1:
            raise libvirt.libvirtError("injected failure")
        return real(self, *args)

    return replacement


def test_failed_third_step_leaves_libvirt_as_before(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    domain.start()
    domain = hypervisor.domain(domain.name)
    original_config = persistent_xml(hypervisor, domain.name)
    with patch.object(libvirt.virConnect, "defineXML", fail_once(libvirt.virConnect.defineXML)):
        with pytest.raises(CIMError), domain.transaction():
            domain.set_autostart(True)  # step 1
            domain.set_memory(131072, live=True)  # step 2: live and config
            edited = domain.config()
            edited.remove_device("hdc")
            domain.redefine(edited)  # step 3: fails
    after = hypervisor.domain(domain.name)
    assert persistent_xml(hypervisor, domain.name) == original_config
    assert after.xml.current_memory_kib == 262144
    assert after.autostart() is False
    assert after.state is DomainState.RUNNING


def test_failed_transaction_undoes_state_changes(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    with pytest.raises(RuntimeError), domain.transaction():
        domain.start()
        raise RuntimeError("a later step failed")
    assert hypervisor.domain(domain.name).state is DomainState.SHUTOFF


def test_failed_transaction_undefines_what_it_defined(hypervisor, rich_xml, guest_name):
    with pytest.raises(CIMError), hypervisor.transaction() as transaction:
        domain = transaction.define(DomainXML.from_string(rich_xml))
        domain.set_autostart(True)
        domain.resume()  # not running: fails
    assert guest_name not in [d.name for d in hypervisor.domains()]


def test_successful_transaction_keeps_every_change(hypervisor, rich_xml):
    with hypervisor.transaction() as transaction:
        domain = transaction.define(DomainXML.from_string(rich_xml))
        domain.set_memory(131072, live=False)
        domain.start()
    after = hypervisor.domain(domain.name)
    assert after.state is DomainState.RUNNING and after.xml.current_memory_kib == 131072


def test_an_undo_that_fails_is_reported_with_the_failure(hypervisor, rich_xml):
    domain = hypervisor.define(DomainXML.from_string(rich_xml))
    failing = patch.object(libvirt.virConnect, "defineXML",
                           side_effect=libvirt.libvirtError("define refused"))
    with pytest.raises(CIMError) as error, failing, domain.transaction():
        domain.set_autostart(True)
        domain.redefine(domain.config())  # fails, and so does restoring the definition
    message = error.value.status_description
    assert message.startswith(f"cannot define guest {domain.name!r}")
    assert "undoing the change failed too, so libvirt at test:///default may be left changed" \
        in message
    assert f"could not restore the definition of guest {domain.name!r}" in message
    # the steps after the failed one still ran: autostart is off again
    assert hypervisor.domain(domain.name).autostart() is False
