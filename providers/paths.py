"""Where the model's instances are: their classes, keys and paths, in one place.

Every provider names the instances of other families (an association's ends,
a method's reference parameters, an indication's source) by the paths here,
so a key format is written once. Keys are libvirt-cim's, which its clients
build by hand: a host by its name, a guest by its domain name, a device by
``<domain>/<device id>``, a service by the host's keys and its own name, the
capabilities and settings of the singletons by a fixed InstanceID. Every
path is in ``root/virt``, whatever the namespace of the request.

It imports only the adapter, the provider API and, for the kinds of pool,
:mod:`providers.pools`, none of which imports it back: any family module may
import it without a cycle.
"""

from __future__ import annotations

from pywbem import CIMInstanceName

from providers.classes import VIRT_NAMESPACE
from providers.pools import pool_kind
from providers.virt import Hypervisor, naming
from providers.virt.mapping import Kind
from virtcim.provider import RequestContext

__all__ = [
    "ALLOCATION_CAPABILITIES",
    "COMPUTER_SYSTEM",
    "CONFIGURATION_CAPABILITIES",
    "CONFIGURATION_CAPABILITIES_ID",
    "CONFIGURATION_SERVICE",
    "CONFIGURATION_SERVICE_NAME",
    "CONSOLE_CAPABILITIES",
    "CONSOLE_CAPABILITIES_ID",
    "CONSOLE_SERVICE",
    "CONSOLE_SERVICE_NAME",
    "ELEMENT_CAPABILITIES",
    "HOST_SYSTEM",
    "MANAGEMENT_CAPABILITIES",
    "MANAGEMENT_CAPABILITIES_ID",
    "MANAGEMENT_SERVICE",
    "MANAGEMENT_SERVICE_NAME",
    "MIGRATION_CAPABILITIES",
    "MIGRATION_CAPABILITIES_ID",
    "MIGRATION_SERVICE",
    "MIGRATION_SERVICE_NAME",
    "MIGRATION_SETTING_DATA",
    "MIGRATION_SETTING_DATA_ID",
    "REDIRECTION_SAP",
    "SNAPSHOT_CAPABILITIES",
    "SNAPSHOT_CAPABILITIES_ID",
    "SNAPSHOT_SERVICE",
    "SNAPSHOT_SERVICE_NAME",
    "SNAPSHOT_SETTING_DATA",
    "VSSD",
    "allocation_capabilities_path",
    "configuration_capabilities_path",
    "configuration_service_path",
    "console_capabilities_path",
    "console_service_path",
    "device_path",
    "guest_capabilities_path",
    "guest_path",
    "host_path",
    "hosted_service_path",
    "instance_id_path",
    "is_host_path",
    "management_capabilities_path",
    "management_service_path",
    "migration_capabilities_path",
    "migration_service_path",
    "migration_setting_path",
    "pool_path",
    "rasd_path",
    "sap_path",
    "snapshot_capabilities_path",
    "snapshot_path",
    "snapshot_service_path",
    "vssd_path",
]

# --- the classes, by generic name (``<Prefix>_<generic>``) -----------------------------------

HOST_SYSTEM = "HostSystem"
COMPUTER_SYSTEM = "ComputerSystem"
ELEMENT_CAPABILITIES = "EnabledLogicalElementCapabilities"
VSSD = "VirtualSystemSettingData"
ALLOCATION_CAPABILITIES = "AllocationCapabilities"
MANAGEMENT_SERVICE = "VirtualSystemManagementService"
MANAGEMENT_CAPABILITIES = "VirtualSystemManagementCapabilities"
CONFIGURATION_SERVICE = "ResourcePoolConfigurationService"
CONFIGURATION_CAPABILITIES = "ResourcePoolConfigurationCapabilities"
CONSOLE_SERVICE = "ConsoleRedirectionService"
CONSOLE_CAPABILITIES = "ConsoleRedirectionServiceCapabilities"
REDIRECTION_SAP = "KVMRedirectionSAP"
MIGRATION_SERVICE = "VirtualSystemMigrationService"
MIGRATION_CAPABILITIES = "VirtualSystemMigrationCapabilities"
MIGRATION_SETTING_DATA = "VirtualSystemMigrationSettingData"
SNAPSHOT_SERVICE = "VirtualSystemSnapshotService"
SNAPSHOT_CAPABILITIES = "VirtualSystemSnapshotServiceCapabilities"
SNAPSHOT_SETTING_DATA = "SnapshotSettingData"

# --- the keys of the singletons, as libvirt-cim named them -----------------------------------

MANAGEMENT_SERVICE_NAME = "Management Service"
MANAGEMENT_CAPABILITIES_ID = "ManagementCapabilities"
CONFIGURATION_SERVICE_NAME = "RPCS"
CONFIGURATION_CAPABILITIES_ID = "RPCC"
CONSOLE_SERVICE_NAME = "ConsoleRedirectionService"
CONSOLE_CAPABILITIES_ID = "ConsoleRedirectionCapabilities"
MIGRATION_SERVICE_NAME = "MigrationService"
MIGRATION_CAPABILITIES_ID = "MigrationCapabilities"
MIGRATION_SETTING_DATA_ID = "MigrationSettingData"
SNAPSHOT_SERVICE_NAME = "SnapshotService"
SNAPSHOT_CAPABILITIES_ID = "SnapshotCapabilities"


# --- the host --------------------------------------------------------------------------------


def host_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    """The path of ``hv``'s host."""
    return ctx.path(
        naming.classname(hv.prefix, HOST_SYSTEM),
        namespace=VIRT_NAMESPACE,
        CreationClassName=naming.classname(hv.prefix, HOST_SYSTEM),
        Name=hv.hostname,
    )


def is_host_path(hv: Hypervisor, path: CIMInstanceName) -> bool:
    """Whether ``path`` names ``hv``'s host (class and both keys)."""
    classname = naming.classname(hv.prefix, HOST_SYSTEM).lower()
    keys = path.keybindings
    return (
        path.classname.lower() == classname
        and str(keys.get("CreationClassName", "")).lower() == classname
        and keys.get("Name") == hv.hostname
    )


def hosted_service_path(
    ctx: RequestContext, hv: Hypervisor, generic: str, name: str
) -> CIMInstanceName:
    """The path of ``hv``'s service ``<Prefix>_<generic>``: keyed by the host's class and
    name and its own ``name``, as libvirt-cim keyed its services."""
    classname = naming.classname(hv.prefix, generic)
    return ctx.path(classname, namespace=VIRT_NAMESPACE,
                    SystemCreationClassName=naming.classname(hv.prefix, HOST_SYSTEM),
                    SystemName=hv.hostname, CreationClassName=classname, Name=name)  # fmt: skip


def instance_id_path(
    ctx: RequestContext, hv: Hypervisor, generic: str, instance_id: str
) -> CIMInstanceName:
    """The path of ``hv``'s ``<Prefix>_<generic>`` keyed by ``instance_id`` alone."""
    return ctx.path(naming.classname(hv.prefix, generic), namespace=VIRT_NAMESPACE,
                    InstanceID=instance_id)


# --- the services and their capabilities -----------------------------------------------------


def management_service_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return hosted_service_path(ctx, hv, MANAGEMENT_SERVICE, MANAGEMENT_SERVICE_NAME)


def management_capabilities_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return instance_id_path(ctx, hv, MANAGEMENT_CAPABILITIES, MANAGEMENT_CAPABILITIES_ID)


def configuration_service_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return hosted_service_path(ctx, hv, CONFIGURATION_SERVICE, CONFIGURATION_SERVICE_NAME)


def configuration_capabilities_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return instance_id_path(ctx, hv, CONFIGURATION_CAPABILITIES, CONFIGURATION_CAPABILITIES_ID)


def console_service_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return hosted_service_path(ctx, hv, CONSOLE_SERVICE, CONSOLE_SERVICE_NAME)


def console_capabilities_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return instance_id_path(ctx, hv, CONSOLE_CAPABILITIES, CONSOLE_CAPABILITIES_ID)


def migration_service_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return hosted_service_path(ctx, hv, MIGRATION_SERVICE, MIGRATION_SERVICE_NAME)


def migration_capabilities_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return instance_id_path(ctx, hv, MIGRATION_CAPABILITIES, MIGRATION_CAPABILITIES_ID)


def migration_setting_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    """The path of ``hv``'s default migration setting."""
    return instance_id_path(ctx, hv, MIGRATION_SETTING_DATA, MIGRATION_SETTING_DATA_ID)


def snapshot_service_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return hosted_service_path(ctx, hv, SNAPSHOT_SERVICE, SNAPSHOT_SERVICE_NAME)


def snapshot_capabilities_path(ctx: RequestContext, hv: Hypervisor) -> CIMInstanceName:
    return instance_id_path(ctx, hv, SNAPSHOT_CAPABILITIES, SNAPSHOT_CAPABILITIES_ID)


# --- guests, their devices and settings ------------------------------------------------------


def guest_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of guest ``name`` of ``hv``."""
    classname = naming.classname(hv.prefix, COMPUTER_SYSTEM)
    return ctx.path(classname, namespace=VIRT_NAMESPACE, CreationClassName=classname, Name=name)


def guest_capabilities_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of guest ``name``'s EnabledLogicalElementCapabilities."""
    return instance_id_path(ctx, hv, ELEMENT_CAPABILITIES, name)


def device_path(
    ctx: RequestContext, hv: Hypervisor, generic: str, domain: str, ident: str
) -> CIMInstanceName:
    """The path of device ``ident`` of class ``<Prefix>_<generic>`` of guest ``domain``."""
    return ctx.path(
        naming.classname(hv.prefix, generic),
        namespace=VIRT_NAMESPACE,
        SystemCreationClassName=naming.classname(hv.prefix, COMPUTER_SYSTEM),
        SystemName=domain,
        CreationClassName=naming.classname(hv.prefix, generic),
        DeviceID=f"{domain}/{ident}",
    )


def sap_path(ctx: RequestContext, hv: Hypervisor, guest: str, name: str) -> CIMInstanceName:
    """The path of the console access point ``name`` (``<port>:<client port>``) of ``guest``."""
    classname = naming.classname(hv.prefix, REDIRECTION_SAP)
    return ctx.path(classname, namespace=VIRT_NAMESPACE,
                    SystemCreationClassName=naming.classname(hv.prefix, COMPUTER_SYSTEM),
                    SystemName=guest, CreationClassName=classname, Name=name)  # fmt: skip


def vssd_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of the VSSD of guest ``name``."""
    return instance_id_path(ctx, hv, VSSD, naming.vssd_instance_id(hv.prefix, name))


def snapshot_path(
    ctx: RequestContext, hv: Hypervisor, guest: str, snapshot: str
) -> CIMInstanceName:
    """The path of libvirt's snapshot ``snapshot`` of guest ``guest``."""
    return instance_id_path(ctx, hv, SNAPSHOT_SETTING_DATA,
                            naming.snapshot_instance_id(hv.prefix, guest, snapshot))


def rasd_path(
    ctx: RequestContext, hv: Hypervisor, kind: Kind, name: str, ident: str
) -> CIMInstanceName:
    """The path of the ``kind`` setting of device ``ident`` of guest ``name``."""
    return instance_id_path(ctx, hv, kind.value, naming.rasd_instance_id(name, ident))


# --- pools -----------------------------------------------------------------------------------


def pool_path(ctx: RequestContext, hv: Hypervisor, instance_id: str) -> CIMInstanceName:
    """The path of the pool ``instance_id`` (``DiskPool/default``) of ``hv``.

    Raises ``ValueError`` for an InstanceID that names no kind of pool.
    """
    kind = pool_kind(naming.parse_pool_instance_id(instance_id)[0])
    return instance_id_path(ctx, hv, kind.generic_class, instance_id)


def allocation_capabilities_path(
    ctx: RequestContext, hv: Hypervisor, pool_id: str
) -> CIMInstanceName:
    """The path of the AllocationCapabilities of pool ``pool_id``."""
    return instance_id_path(ctx, hv, ALLOCATION_CAPABILITIES, pool_id)
