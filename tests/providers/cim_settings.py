"""Embedded settings and references as clients send them to the Test hypervisor's services."""

from __future__ import annotations

from pywbem import CIMInstance, CIMInstanceName

from providers.classes import VIRT_NAMESPACE


def embedded(classname, values):
    """An embedded instance as a client sends it: values as text, typed by the server."""
    def text(value):
        if isinstance(value, list):
            return [text(item) for item in value]
        return str(value).lower() if isinstance(value, bool) else str(value)

    return CIMInstance(classname, properties={name: text(v) for name, v in values.items()})


def vssd(name, **values):
    return embedded("Test_VirtualSystemSettingData",
                    {"VirtualSystemIdentifier": name, **values})


def rasd(kind, **values):
    return embedded(f"Test_{kind}ResourceAllocationSettingData", values)


def disk(dev="vdb", path="/images/data.img", **values):
    return rasd("Disk", VirtualDevice=dev, Address=path, **values)


def nic(mac="52:54:00:aa:bb:01", **values):
    return rasd("Net", **{"NetworkType": "network", "NetworkName": "default", "Address": mac,
                          **values})


def memory(quantity=512, units="MegaBytes", **values):
    return rasd("Mem", VirtualQuantity=quantity, Limit=quantity, AllocationUnits=units,
                **values)


def vssd_ref(name):
    return CIMInstanceName("Test_VirtualSystemSettingData", {"InstanceID": f"Test:{name}"},
                           namespace=VIRT_NAMESPACE)


def rasd_ref(kind, name, ident):
    return CIMInstanceName(f"Test_{kind}ResourceAllocationSettingData",
                           {"InstanceID": f"{name}/{ident}"}, namespace=VIRT_NAMESPACE)
