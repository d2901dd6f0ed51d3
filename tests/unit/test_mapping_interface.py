"""Network settings to and from ``<interface>`` (providers.virt.mapping.interface)."""

from __future__ import annotations

from providers.virt.mapping import Kind, resources
from tests.mapping_checks import by_id


def test_interfaces_read_type_source_and_pool(xml):
    nics = by_id(xml, Kind.NET)
    assert nics["52:54:00:12:34:56"]["NetworkType"] == "network"
    assert nics["52:54:00:12:34:56"]["PoolID"] == "NetworkPool/default"
    assert nics["52:54:00:ab:cd:ef"]["NetworkName"] == "br0"
    assert by_id(xml, Kind.ETHERNET)["52:54:00:12:34:56"]["ResourceType"] == 33


def test_an_empty_network_pool_id_names_no_network(xml):
    ident = resources.apply_resource(xml, Kind.NET, {"NetworkType": "network",
                                                "PoolID": "NetworkPool/"})
    assert xml.find_device(ident).find("source").get("network") == ""


def test_new_interface_gets_a_mac_in_the_drivers_range(xml):
    ident = resources.apply_resource(xml, Kind.NET, {"NetworkType": "user"}, driver="xen")
    assert ident.startswith("00:16:3e:")


def test_an_empty_resource_sub_type_unsets_the_nic_model(xml):
    resources.apply_resource(xml, Kind.NET, {"ResourceSubType": ""}, "52:54:00:12:34:56")
    assert xml.find_device("52:54:00:12:34:56").find("model") is None
