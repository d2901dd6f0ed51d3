"""libvirt's events as the adapter names them (providers.virt.events)."""

import libvirt

from providers.virt.events import DEFINED_ADDED, DomainEventID, Event, Lifecycle, PoolLifecycle


def test_the_names_carry_libvirt_s_numbers():
    assert DomainEventID.LIFECYCLE == libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
    assert Lifecycle.STOPPED == libvirt.VIR_DOMAIN_EVENT_STOPPED
    assert DEFINED_ADDED == libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED
    assert PoolLifecycle.UNDEFINED == libvirt.VIR_NETWORK_EVENT_UNDEFINED


def test_only_a_domain_s_undefined_lifecycle_event_undefines_it():
    undefined = (Lifecycle.UNDEFINED, 0)
    assert Event("domain", "web", "u1", DomainEventID.LIFECYCLE, undefined).undefines_domain
    assert not Event("domain", "web", "u1", DomainEventID.LIFECYCLE,
                     (Lifecycle.STOPPED, 0)).undefines_domain
    assert not Event("domain", "web", "u1", DomainEventID.DEVICE_REMOVED, ("vda",)).undefines_domain
    assert not Event("network", "default", "u2", 0, undefined).undefines_domain
