"""The DMTF ValueMaps of the interop namespace (object manager, namespaces, profiles,
indications) and of jobs, once each.

Names follow the ``Values`` text of the CIM Schema; the numbers are the
schema's ``ValueMap`` entries. Only the values virtcim uses are listed.
"""

from __future__ import annotations

import enum

__all__ = [
    "AdvertiseType",
    "AuthenticationMechanism",
    "CIMXMLProtocolVersion",
    "ClassInfo",
    "ClassType",
    "CommunicationMechanism",
    "ElementEffects",
    "EnabledState",
    "ErrorType",
    "FunctionalProfile",
    "JobRequestedState",
    "JobState",
    "OnFatalErrorPolicy",
    "OperationalStatus",
    "Organization",
    "PerceivedSeverity",
    "PersistenceType",
    "SpecificationType",
    "SubscriptionRemovalAction",
    "SubscriptionState",
]


class FunctionalProfile(enum.IntEnum):
    """``FunctionalProfilesSupported``: groups of DSP0200 operations."""

    BASIC_READ = 2
    BASIC_WRITE = 3
    SCHEMA_MANIPULATION = 4
    INSTANCE_MANIPULATION = 5
    ASSOCIATION_TRAVERSAL = 6
    QUERY_EXECUTION = 7
    QUALIFIER_DECLARATION = 8
    INDICATIONS = 9
    PULLED_READ = 10
    PULLED_READ_COUNT = 11
    PULLED_QUERY_EXECUTION = 12


class AuthenticationMechanism(enum.IntEnum):
    """``AuthenticationMechanismsSupported``."""

    NONE = 2
    BASIC = 3
    DIGEST = 4


class CommunicationMechanism(enum.IntEnum):
    CIM_XML = 2


class CIMXMLProtocolVersion(enum.IntEnum):
    V1_0 = 1


class AdvertiseType(enum.IntEnum):
    """How the server is advertised; there is no SLP agent."""

    NOT_ADVERTISED = 2


class EnabledState(enum.IntEnum):
    ENABLED = 2


class OperationalStatus(enum.IntEnum):
    OK = 2
    ERROR = 6
    STOPPED = 10
    COMPLETED = 17


class ClassInfo(enum.IntEnum):
    """``CIM_Namespace.ClassInfo``: its ValueMap stops at CIM 2.8, so newer is Other."""

    OTHER = 1


class ClassType(enum.IntEnum):
    CIM = 2


class Organization(enum.IntEnum):
    """``RegisteredOrganization``: who defines a profile."""

    OTHER = 1
    DMTF = 2
    COMPTIA = 3
    CONSORTIUM_FOR_SERVICE_INNOVATION = 4
    FAST = 5
    GGF = 6
    INTAP = 7
    ITSMF = 8
    NAC = 9
    NORTHWEST_ENERGY_EFFICIENCY_ALLIANCE = 10
    SNIA = 11
    TM_FORUM = 12
    THE_OPEN_GROUP = 13
    ANSI = 14
    IEEE = 15
    IETF = 16
    INCITS = 17
    ISO = 18
    W3C = 19
    OGF = 20
    THE_GREEN_GRID = 21


class SpecificationType(enum.IntEnum):
    PROFILE = 2


# -- indications (DSP1054) ------------------------------------------------------------------


class PersistenceType(enum.IntEnum):
    """``CIM_ListenerDestination.PersistenceType``."""

    OTHER = 1
    PERMANENT = 2
    TRANSIENT = 3


class SubscriptionState(enum.IntEnum):
    """``CIM_IndicationSubscription.SubscriptionState``: the two a client may set."""

    ENABLED = 2
    DISABLED = 4


class OnFatalErrorPolicy(enum.IntEnum):
    """``CIM_IndicationSubscription.OnFatalErrorPolicy``."""

    OTHER = 1
    IGNORE = 2
    DISABLE = 3
    REMOVE = 4


class SubscriptionRemovalAction(enum.IntEnum):
    """``CIM_IndicationService.SubscriptionRemovalAction``."""

    REMOVE = 2
    DISABLE = 3
    IGNORE = 4


# -- jobs --------------------------------------------------------------------------------------


class JobState(enum.IntEnum):
    """``CIM_ConcreteJob.JobState``."""

    NEW = 2
    STARTING = 3
    RUNNING = 4
    SUSPENDED = 5
    SHUTTING_DOWN = 6
    COMPLETED = 7
    TERMINATED = 8
    KILLED = 9
    EXCEPTION = 10


class JobRequestedState(enum.IntEnum):
    """``CIM_ConcreteJob.RequestStateChange(RequestedState)``: the two that cancel a job."""

    TERMINATE = 4
    KILL = 5


class ElementEffects(enum.IntEnum):
    """``CIM_AffectedJobElement.ElementEffects``."""

    OTHER = 1


class ErrorType(enum.IntEnum):
    """``CIM_Error.ErrorType``."""

    SOFTWARE_ERROR = 4


class PerceivedSeverity(enum.IntEnum):
    """``CIM_Error.PerceivedSeverity``."""

    FATAL = 6
