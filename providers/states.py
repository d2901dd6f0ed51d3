"""The DMTF ValueMaps the system, device and capabilities providers write, once each.

Names follow the ``Values`` text of the CIM Schema; the numbers are the
schema's ``ValueMap`` entries. Only the values virtcim uses are listed.
"""

from __future__ import annotations

import enum

__all__ = [
    "CPUStatus",
    "Dedicated",
    "EnabledState",
    "HealthState",
    "LinkTechnology",
    "OperatingStatus",
    "OperationalStatus",
    "PointingType",
    "ProtocolSupported",
    "RequestStateChangeResult",
    "RequestedState",
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
