"""The system settings (VSSD) to and from the domain's own elements (providers.virt.mapping.system)."""

from __future__ import annotations

from providers.virt.mapping import system
from tests.mapping_checks import NAME, unmodelled


def test_system_settings_read_the_domain_top_level(xml):
    values = system.system_settings(xml, "KVM", autostart=True)
    assert values["InstanceID"] == "KVM:web1" and values["VirtualSystemIdentifier"] == "web1"
    assert values["BootDevices"] == ["cdrom", "hd"] and values["ClockOffset"] == 1
    assert values["EnableACPI"] and values["EnableAPIC"] and not values["EnablePAE"]
    assert values["AutomaticRecoveryAction"] == 123 and values["AutoStart"] == 1


def test_system_settings_round_trip(xml):
    values = system.system_settings(xml, "KVM", autostart=None)
    target = system.new_domain(NAME, "kvm")
    system.apply_system_settings(target, values)
    again = system.system_settings(target, "KVM", autostart=None)
    for name in ("BootDevices", "ClockOffset", "EnableACPI", "EnableAPIC", "EnablePAE", "Arch",
                 "Machine", "Emulator", "AutomaticShutdownAction", "AutomaticRecoveryAction"):
        assert again[name] == values[name], name


def test_clone_renews_identity_and_macs(xml):
    clone = system.clone_definition(xml, "copy")
    assert clone.name == "copy" and clone.uuid is None
    old = {i.mac for i in xml.interfaces()}
    assert not old & {i.mac for i in clone.interfaces()}
    assert unmodelled(clone) == unmodelled(xml)
