"""Controller settings to and from ``<controller>`` (providers.virt.mapping.controller)."""

from __future__ import annotations

from providers.virt.mapping import Kind
from tests.mapping_checks import by_id


def test_a_controller_is_answered_as_libvirt_cim_answered_it(xml):
    controller = by_id(xml, Kind.CONTROLLER)["controller:scsi:0"]
    assert (controller["ResourceType"], controller["OtherResourceType"]) == (1, "controller")
