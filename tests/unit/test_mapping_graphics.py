"""Graphics settings to and from ``<graphics>`` (providers.virt.mapping.graphics)."""

from __future__ import annotations

from providers.virt.mapping import Kind, resources
from tests.mapping_checks import by_id


def test_graphics_password_is_never_read_back(xml):
    vnc = by_id(xml, Kind.GRAPHICS)["vnc"]
    assert vnc["Password"] == "********" and "s3cret" not in repr(vnc)
    assert vnc["Address"] == "127.0.0.1:-1"


def test_a_vnc_password_is_cut_to_the_eight_characters_vnc_uses(xml):
    resources.apply_resource(xml, Kind.GRAPHICS, {"Password": "cimtest123"}, "vnc")
    assert xml.find_device("vnc").get("passwd") == "cimtest1"
