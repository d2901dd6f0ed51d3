"""The device mapping on libvirt's test driver: the definition libvirt reports round-trips
through the settings, and a guest's devices and its resource settings agree."""

from __future__ import annotations

import pytest

from tests.mapping_checks import check_every_device

#: Each device class and the resource setting class that shows the same devices.
PAIRS = [
    ("Test_LogicalDisk", "Test_DiskResourceAllocationSettingData"),
    ("Test_NetworkPort", "Test_NetResourceAllocationSettingData"),
    ("Test_DisplayController", "Test_GraphicsResourceAllocationSettingData"),
    ("Test_PointingDevice", "Test_InputResourceAllocationSettingData"),
    ("Test_ConsoleDisplayController", "Test_ConsoleResourceAllocationSettingData"),
    ("Test_Controller", "Test_ControllerResourceAllocationSettingData"),
]


#: A shared directory: the rich guest's one device kind beyond those of the other tests.
MOUNT = ("<filesystem type='mount' accessmode='mapped'><source dir='/srv/shared'/>"
         "<target dir='shared'/></filesystem>")


@pytest.fixture(params=["defined", "running"])
def rich_guest(request, define_guest, rich_xml, guest_name):
    handle = define_guest(guest_name, rich_xml.replace("</devices>", MOUNT + "</devices>"))
    if request.param == "running":
        handle.create()
    return guest_name


def test_every_device_libvirt_reports_round_trips_and_agrees(hypervisor, rich_guest):
    domain = hypervisor.domain(rich_guest)
    for xml in (domain.xml, domain.config()):
        check_every_device(xml, hypervisor.driver)


@pytest.mark.parametrize(("device_class", "setting_class"), PAIRS)
def test_a_guests_devices_and_its_resource_settings_name_the_same_devices(
        cim, rich_guest, device_class, setting_class):
    devices = {inst["DeviceID"] for inst in cim.enumerate(device_class)
               if inst["SystemName"] == rich_guest}
    settings = {inst["InstanceID"] for inst in cim.enumerate(setting_class)
                if inst["InstanceID"].startswith(f"{rich_guest}/")}
    assert devices and devices == settings
