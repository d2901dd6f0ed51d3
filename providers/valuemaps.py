"""The DMTF ValueMaps the model's providers read and write, once each.

Names follow the ``Values`` text of the CIM Schema; the numbers are the
schema's ``ValueMap`` entries. Only the values virtcim uses are listed.
"""

from __future__ import annotations

import enum

__all__ = [
    "AutoStart",
    "ChangeableType",
    "CPUStatus",
    "ClockOffset",
    "ConsoleSourceType",
    "Dedicated",
    "EmulatedType",
    "EnabledState",
    "FormatType",
    "ForwardMode",
    "HealthState",
    "HostFormat",
    "KVMProtocol",
    "LifecycleAction",
    "LinkTechnology",
    "MigrationMethod",
    "MigrationType",
    "OperatingStatus",
    "OperationalStatus",
    "PointingType",
    "PoolConfigurationMethod",
    "PoolConfigurationReturnCode",
    "PoolType",
    "PropertyPolicy",
    "RedirectionServiceType",
    "RedirectionSharingMode",
    "ProtocolSupported",
    "RequestStateChangeResult",
    "RequestTypes",
    "RequestedState",
    "ResourceType",
    "SharingMode",
    "SnapshotMethod",
    "SnapshotReturnCode",
    "SnapshotType",
    "StartupAction",
    "StorageAccess",
    "SystemManagementMethod",
    "SystemManagementReturnCode",
    "Ternary",
    "TransportType",
    "ValueRange",
    "ValueRole",
]


class EnabledState(enum.IntEnum):
    """``CIM_EnabledLogicalElement.EnabledState``; also the states RequestStateChange takes."""

    UNKNOWN = 0
    ENABLED = 2
    DISABLED = 3
    SHUTTING_DOWN = 4
    ENABLED_BUT_OFFLINE = 6
    QUIESCE = 9


class RequestedState(enum.IntEnum):
    """``CIM_EnabledLogicalElement.RequestedState`` and ``RequestStateChange(RequestedState)``."""

    UNKNOWN = 0
    ENABLED = 2
    DISABLED = 3
    SHUT_DOWN = 4
    NO_CHANGE = 5
    OFFLINE = 6
    TEST = 7
    DEFER = 8
    QUIESCE = 9
    REBOOT = 10
    RESET = 11
    NOT_APPLICABLE = 12


class RequestStateChangeResult(enum.IntEnum):
    """Return values of ``CIM_EnabledLogicalElement.RequestStateChange``."""

    COMPLETED = 0
    NOT_SUPPORTED = 1
    UNKNOWN_ERROR = 2
    TIMEOUT = 3
    FAILED = 4
    INVALID_PARAMETER = 5
    IN_USE = 6
    JOB_STARTED = 4096
    INVALID_STATE_TRANSITION = 4097
    TIMEOUT_NOT_SUPPORTED = 4098
    BUSY = 4099


class HealthState(enum.IntEnum):
    """``CIM_ManagedSystemElement.HealthState``."""

    UNKNOWN = 0
    OK = 5
    MAJOR_FAILURE = 20


class OperationalStatus(enum.IntEnum):
    """``CIM_ManagedSystemElement.OperationalStatus`` entries."""

    UNKNOWN = 0
    OK = 2
    ERROR = 6
    STOPPED = 10
    DORMANT = 15


class OperatingStatus(enum.IntEnum):
    """``CIM_ManagedSystemElement.OperatingStatus``."""

    UNKNOWN = 0
    STOPPED = 5
    ABORTED = 6
    DORMANT = 7
    SHUTTING_DOWN = 13
    IN_SERVICE = 16


class Dedicated(enum.IntEnum):
    """``CIM_ComputerSystem.Dedicated`` entries."""

    NOT_DEDICATED = 0


class CPUStatus(enum.IntEnum):
    """``CIM_Processor.CPUStatus``."""

    UNKNOWN = 0
    CPU_ENABLED = 1


class LinkTechnology(enum.IntEnum):
    """``CIM_NetworkPort.LinkTechnology``."""

    ETHERNET = 2


class PointingType(enum.IntEnum):
    """``CIM_PointingDevice.PointingType``."""

    OTHER = 1
    UNKNOWN = 2
    MOUSE = 3


class ProtocolSupported(enum.IntEnum):
    """``CIM_Controller.ProtocolSupported`` (the schema defines no vendor range)."""

    OTHER = 1
    PCI = 5
    FLEXIBLE_DISKETTE = 7
    SCSI_PARALLEL_INTERFACE = 9
    UNIVERSAL_SERIAL_BUS = 16
    IDE = 37
    SERIAL_ATA = 48


# --- resource settings ---------------------------------------------------------------------


class ResourceType(enum.IntEnum):
    """CIM_ResourceAllocationSettingData.ResourceType values used here."""

    OTHER = 1
    PROCESSOR = 3
    MEMORY = 4
    ETHERNET_ADAPTER = 10
    IO_DEVICE = 13
    FLOPPY_DRIVE = 14
    CD_DRIVE = 15
    DVD_DRIVE = 16
    DISK_DRIVE = 17
    GRAPHICS_CONTROLLER = 24
    LOGICAL_DISK = 31
    ETHERNET_CONNECTION = 33
    #: libvirt-cim's vendor values, which its clients send for consoles and controllers.
    VIRT_CONSOLE = 32769
    VIRT_CONTROLLER = 32771


class EmulatedType(enum.IntEnum):
    """DiskResourceAllocationSettingData.EmulatedType: the ``<disk device>``."""

    DISK = 0
    CDROM = 1
    FLOPPY = 2
    FILESYSTEM = 3
    LUN = 4


class StorageAccess(enum.IntEnum):
    """StorageAllocationSettingData.Access: a disk's access mode."""

    READABLE = 1
    READ_WRITE = 3


class ConsoleSourceType(enum.IntEnum):
    """ConsoleResourceAllocationSettingData.SourceType: the ``<console type>``."""

    NULL = 0
    VC = 1
    PTY = 2
    DEV = 3
    FILE = 4
    PIPE = 5
    STDIO = 6
    UDP = 7
    TCP = 8
    UNIX = 9
    SPICEVMC = 10


class ClockOffset(enum.IntEnum):
    UTC = 0
    LOCALTIME = 1


class AutoStart(enum.IntEnum):
    DISABLED = 0
    ENABLED = 1


class StartupAction(enum.IntEnum):
    """VirtualSystemSettingData.AutomaticStartupAction: what the host does with the guest at boot."""

    NONE = 2
    ALWAYS_START = 4


class LifecycleAction(enum.IntEnum):
    """AutomaticShutdownAction (``<on_poweroff>``) and AutomaticRecoveryAction
    (``<on_crash>``) values, as libvirt-cim wrote them."""

    DESTROY = 2
    RESTART = 3
    PRESERVE = 123


# --- capabilities and pools ----------------------------------------------------------------


class ValueRole(enum.IntEnum):
    """``CIM_SettingsDefineCapabilities.ValueRole``."""

    DEFAULT = 0
    SUPPORTED = 3


class ValueRange(enum.IntEnum):
    """``CIM_SettingsDefineCapabilities.ValueRange``."""

    POINT = 0
    MINIMUMS = 1
    MAXIMUMS = 2
    INCREMENTS = 3


class PropertyPolicy(enum.IntEnum):
    INDEPENDENT = 0


class RequestTypes(enum.IntEnum):
    """``CIM_AllocationCapabilities.RequestTypesSupported``."""

    GENERAL = 3


class SharingMode(enum.IntEnum):
    DEDICATED = 2
    SHARED = 3


class RedirectionServiceType(enum.IntEnum):
    """``CIM_RedirectionService.RedirectionServiceType``."""

    KVM = 3


class RedirectionSharingMode(enum.IntEnum):
    """``CIM_RedirectionService.SharingMode`` and ``CIM_RedirectionServiceCapabilities.
    SharingModeSupported``."""

    EXCLUSIVE = 2
    SHARED = 3


class KVMProtocol(enum.IntEnum):
    """``CIM_KVMRedirectionSAP.KVMProtocol``."""

    VNC_RFB = 4


class ForwardMode(enum.IntEnum):
    """``NetPoolResourceAllocationSettingData.ForwardMode``."""

    ISOLATED = 0
    NAT = 1
    ROUTED = 2


class FormatType(enum.IntEnum):
    """``StorageVolumeResourceAllocationSettingData.FormatType``."""

    RAW = 1
    QCOW2 = 2


class PoolType(enum.IntEnum):
    """``DiskPoolResourceAllocationSettingData.Type``: libvirt's storage pool types."""

    DIR = 1
    FS = 2
    NETFS = 3
    DISK = 4
    ISCSI = 5
    LOGICAL = 6
    SCSI = 7


# --- services ------------------------------------------------------------------------------


class SystemManagementReturnCode(enum.IntEnum):
    """Return values of the VirtualSystemManagementService methods."""

    COMPLETED = 0
    NOT_SUPPORTED = 1
    FAILED = 2
    TIMEOUT = 3
    INVALID_PARAMETER = 4
    INVALID_STATE = 5
    INCOMPATIBLE_PARAMETERS = 6


class SystemManagementMethod(enum.IntEnum):
    """VirtualSystemManagementCapabilities.SynchronousMethodsSupported values."""

    DEFINE_SYSTEM = 2
    DESTROY_SYSTEM = 3
    MODIFY_RESOURCE_SETTINGS = 5
    MODIFY_SYSTEM_SETTINGS = 6
    REMOVE_RESOURCES = 7
    ADD_RESOURCES = 10


class PoolConfigurationReturnCode(enum.IntEnum):
    """Return values of the ResourcePoolConfigurationService methods."""

    COMPLETED = 0
    IN_USE = 6


class PoolConfigurationMethod(enum.IntEnum):
    """ResourcePoolConfigurationCapabilities.SynchronousMethodsSupported values."""

    CREATE_CHILD_RESOURCE_POOL = 3
    DELETE_RESOURCE_POOL = 4


# --- migration -----------------------------------------------------------------------------


class MigrationType(enum.IntEnum):
    """VirtualSystemMigrationSettingData.MigrationType (1 is libvirt-cim's offline)."""

    UNKNOWN = 0
    OTHER = 1
    LIVE = 2
    RESUME = 3
    RESTART = 4


class TransportType(enum.IntEnum):
    """VirtualSystemMigrationSettingData.TransportType, and libvirt-cim's unix socket."""

    UNKNOWN = 0
    OTHER = 1
    SSH = 2
    TLS = 3
    TLS_STRICT = 4
    TCP = 5
    IPC = 6
    LIBVIRT_CIM_UNIX = 32768


class MigrationMethod(enum.IntEnum):
    """VirtualSystemMigrationCapabilities.SynchronousMethodsSupported values."""

    MIGRATE_TO_HOST = 2
    MIGRATE_TO_SYSTEM = 3
    CHECK_TO_HOST = 4
    CHECK_TO_SYSTEM = 5


class HostFormat(enum.IntEnum):
    """VirtualSystemMigrationCapabilities.DestinationHostFormatsSupported values."""

    DOMAIN_NAME = 2
    IPV4 = 3
    IPV6 = 4


# --- snapshots ----------------------------------------------------------------------------


class SnapshotType(enum.IntEnum):
    """CreateSnapshot's SnapshotType: DMTF's two, and libvirt-cim's two vendor types."""

    FULL = 2
    DISK = 3
    #: The memory state saved while the guest keeps running (libvirt-cim's "MEM").
    MEMORY = 32768
    #: The memory state saved and the guest left off (libvirt-cim's "MEMT").
    MEMORY_GUEST_OFF = 32769


class ChangeableType(enum.IntEnum):
    """CIM_SettingData.ChangeableType."""

    NOT_CHANGEABLE_PERSISTENT = 0
    CHANGEABLE_TRANSIENT = 1
    CHANGEABLE_PERSISTENT = 2
    NOT_CHANGEABLE_TRANSIENT = 3


class SnapshotMethod(enum.IntEnum):
    """VirtualSystemSnapshotServiceCapabilities.SynchronousMethodsSupported values."""

    CREATE_SNAPSHOT = 2
    DESTROY_SNAPSHOT = 3
    APPLY_SNAPSHOT = 4


class SnapshotReturnCode(enum.IntEnum):
    """Return values of the VirtualSystemSnapshotService methods."""

    COMPLETED = 0
    NOT_SUPPORTED = 1
    FAILED = 2
    JOB_STARTED = 4096


# --- settings associations -----------------------------------------------------------------


class Ternary(enum.IntEnum):
    """IsDefault / IsCurrent / IsNext of CIM_ElementSettingData."""

    UNKNOWN = 0
    YES = 1
    NO = 2
