"""Memory settings to and from ``<memory>`` and ``<currentMemory>`` (providers.virt.mapping.memory)."""

from __future__ import annotations

import pytest

from providers.virt.mapping import Kind, SettingsError, resources, system
from tests.mapping_checks import NAME, by_id


def test_memory_is_read_in_kib_named_as_libvirt_cim_named_them(xml):
    mem = by_id(xml, Kind.MEM)["mem"]
    assert mem["AllocationUnits"] == "KiloBytes" and mem["VirtualQuantityUnits"] == "byte*2^10"
    assert (mem["VirtualQuantity"], mem["Reservation"], mem["Limit"]) == (262144, 262144, 524288)


def test_memory_maximum_follows_the_request_when_defining():
    xml = system.new_domain(NAME, "kvm")
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "AllocationUnits": "MegaBytes"},
                        defining=True)
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 131072)


def test_memory_maximum_is_a_larger_limit_when_defining():
    xml = system.new_domain(NAME, "kvm")
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "Limit": 1024,
                                        "AllocationUnits": "MegaBytes"}, defining=True)
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 1048576)
    only_limit = system.new_domain(NAME, "kvm")
    resources.apply_resource(only_limit, Kind.MEM, {"Limit": 128, "AllocationUnits": "MegaBytes"},
                        defining=True)
    assert (only_limit.current_memory_kib, only_limit.memory_kib) == (131072, 131072)


def test_memory_maximum_of_an_existing_guest_stays_when_it_shrinks(xml):
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": 128, "AllocationUnits": "MegaBytes"})
    assert (xml.current_memory_kib, xml.memory_kib) == (131072, 524288)


@pytest.mark.parametrize("quantity, unit, kib", [
    (512, "MegaBytes", 524288),
    (512, "MiB", 524288),
    (1, "GiB", 1048576),
    (524288, "KiloBytes", 524288),
    (524288, "byte*2^10", 524288),
    (512, "byte * 2^20", 524288),
    (536870912, "Bytes", 524288),
    (1000, "byte", 1),
])
def test_memory_units_convert_to_kib(xml, quantity, unit, kib):
    resources.apply_resource(xml, Kind.MEM, {"VirtualQuantity": quantity, "Limit": quantity,
                                        "AllocationUnits": unit})
    assert xml.memory_kib == kib and xml.current_memory_kib == kib


@pytest.mark.parametrize("values, fragment", [
    ({"VirtualQuantity": 1, "AllocationUnits": "furlongs"}, "AllocationUnits"),
    ({"VirtualQuantity": -1, "AllocationUnits": "MiB"}, "negative"),
    ({"VirtualQuantity": 0, "AllocationUnits": "MiB"}, "zero"),
    ({"VirtualQuantity": 1024, "Limit": 512, "AllocationUnits": "MiB"}, "exceeds"),
    ({"VirtualQuantity": 1, "AllocationUnits": "byte*2^70"}, "2^64"),
])
def test_bad_memory_settings_are_refused_and_change_nothing(xml, values, fragment):
    before = xml.to_string()
    with pytest.raises(SettingsError, match=fragment.replace("^", r"\^")):
        resources.apply_resource(xml, Kind.MEM, values)
    assert xml.to_string() == before
