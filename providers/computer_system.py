"""Guests: ``<Prefix>_ComputerSystem`` and their state capabilities (DSP1057 Virtual System).

One ``ComputerSystem`` per libvirt domain, named by the domain's name (as
libvirt-cim did, so its clients keep working), with its state mapped to the
DMTF state properties, and ``RequestStateChange`` turning DMTF state requests
into libvirt calls. One ``EnabledLogicalElementCapabilities`` per domain,
InstanceID the domain's name, says which requests are honoured.

RequestStateChange answers as DMTF's ValueMap says, synchronously:

* 0 when the change was made, or when the guest is already where the
  request leads (enabling a running guest, disabling a stopped one);
* 4097 Invalid State Transition when the guest's state does not allow it
  (pausing a stopped guest);
* 1 Not Supported for states DMTF defines but libvirt has no call for
  (6 Offline, 7 Test, 8 Defer, reserved and vendor values), 5 Invalid
  Parameter for values the parameter's ValueMap does not list (0, 1, 5);
* 4098 when a TimeoutPeriod other than zero is given: the change is
  requested at once and never waited for.

A libvirt failure is raised as the CIM error naming the guest and libvirt's
message, not folded into a return code. Shut Down (4) asks the guest to shut
down and returns at once, as libvirt does.

RequestedState reports the last state requested through this server for
the guest, kept in memory (it starts at 5 No Change after a restart): libvirt
has no notion of a requested state, and DMTF allows the last request to
differ from EnabledState.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from pywbem import (
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE
from providers.memo import guests, snapshot_instance
from providers.states import (
    Dedicated,
    EnabledState,
    HealthState,
    OperatingStatus,
    OperationalStatus,
    RequestedState,
)
from providers.states import RequestStateChangeResult as Result
from providers.virt import Domain, DomainState, Hypervisor, naming
from virtcim.provider import InstanceProvider, MethodProvider, RequestContext, cim_method

__all__ = [
    "COMPUTER_SYSTEM",
    "ELEMENT_CAPABILITIES",
    "SUPPORTED_REQUESTS",
    "ComputerSystemProvider",
    "EnabledLogicalElementCapabilitiesProvider",
    "capabilities_path",
    "guest_name_at",
    "guest_path",
]

COMPUTER_SYSTEM = "ComputerSystem"
ELEMENT_CAPABILITIES = "EnabledLogicalElementCapabilities"
#: ``CIM_System.NameFormat``: a libvirt domain name follows none of the listed formats.
GUEST_NAME_FORMAT = "Other"


# -- names ----------------------------------------------------------------------


def guest_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of guest ``name`` of ``hv`` in ``root/virt``."""
    classname = naming.classname(hv.prefix, COMPUTER_SYSTEM)
    return ctx.path(classname, namespace=VIRT_NAMESPACE, CreationClassName=classname, Name=name)


def capabilities_path(ctx: RequestContext, hv: Hypervisor, name: str) -> CIMInstanceName:
    """The path of guest ``name``'s EnabledLogicalElementCapabilities in ``root/virt``."""
    classname = naming.classname(hv.prefix, ELEMENT_CAPABILITIES)
    return ctx.path(classname, namespace=VIRT_NAMESPACE, InstanceID=name)


def guest_name_at(hv: Hypervisor, path: CIMInstanceName) -> str | None:
    """The domain name ``path`` gives when it names a guest of ``hv``, else ``None``.

    Only the path is checked: the domain may not exist.
    """
    classname = naming.classname(hv.prefix, COMPUTER_SYSTEM).lower()
    name = path.keybindings.get("Name")
    creation = path.keybindings.get("CreationClassName")
    if path.classname.lower() != classname or not isinstance(name, str):
        return None
    if creation is not None and str(creation).lower() != classname:
        return None
    return name


def guest_at(hv: Hypervisor, path: CIMInstanceName) -> Domain:
    """The domain at a ComputerSystem path; ``CIM_ERR_NOT_FOUND`` when there is none."""
    name = guest_name_at(hv, path)
    if name is None:
        raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no guest on {hv.uri}")
    return hv.domain(name)


# -- states ---------------------------------------------------------------------


class StateView(NamedTuple):
    """How one libvirt domain state is reported through the DMTF properties."""

    enabled: EnabledState
    health: HealthState
    operational: OperationalStatus
    operating: OperatingStatus


STATE_VIEWS: Mapping[DomainState, StateView] = {
    DomainState.NOSTATE: StateView(EnabledState.UNKNOWN, HealthState.UNKNOWN,
                                   OperationalStatus.UNKNOWN, OperatingStatus.UNKNOWN),
    DomainState.RUNNING: StateView(EnabledState.ENABLED, HealthState.OK,
                                   OperationalStatus.OK, OperatingStatus.IN_SERVICE),
    DomainState.BLOCKED: StateView(EnabledState.ENABLED, HealthState.OK,
                                   OperationalStatus.OK, OperatingStatus.IN_SERVICE),
    DomainState.PAUSED: StateView(EnabledState.QUIESCE, HealthState.OK,
                                  OperationalStatus.OK, OperatingStatus.DORMANT),
    DomainState.SHUTDOWN: StateView(EnabledState.SHUTTING_DOWN, HealthState.OK,
                                    OperationalStatus.OK, OperatingStatus.SHUTTING_DOWN),
    DomainState.SHUTOFF: StateView(EnabledState.DISABLED, HealthState.OK,
                                   OperationalStatus.STOPPED, OperatingStatus.STOPPED),
    DomainState.CRASHED: StateView(EnabledState.DISABLED, HealthState.MAJOR_FAILURE,
                                   OperationalStatus.ERROR, OperatingStatus.ABORTED),
    DomainState.PMSUSPENDED: StateView(EnabledState.ENABLED_BUT_OFFLINE, HealthState.OK,
                                       OperationalStatus.DORMANT, OperatingStatus.DORMANT),
}


class Phase(enum.Enum):
    """What a guest can do next, from its libvirt state."""

    OFF = "off"
    RUNNING = "running"
    PAUSED = "paused"
    #: Active but neither running nor paused: shutting down, crashed but kept, asleep.
    OTHER = "other"


def phase_of(domain: Domain) -> Phase:
    if not domain.is_active:
        return Phase.OFF
    if domain.state is DomainState.PAUSED:
        return Phase.PAUSED
    if domain.state in (DomainState.RUNNING, DomainState.BLOCKED, DomainState.NOSTATE):
        return Phase.RUNNING
    return Phase.OTHER


#: The libvirt call for each request, by phase; ``None``: already there, nothing to do.
#: A phase not listed makes the request an invalid state transition.
Change = Callable[[Domain], None] | None
TRANSITIONS: Mapping[RequestedState, Mapping[Phase, Change]] = {
    RequestedState.ENABLED: {Phase.OFF: Domain.start, Phase.PAUSED: Domain.resume,
                             Phase.RUNNING: None},
    RequestedState.DISABLED: {Phase.RUNNING: Domain.destroy, Phase.PAUSED: Domain.destroy,
                              Phase.OTHER: Domain.destroy, Phase.OFF: None},
    RequestedState.SHUT_DOWN: {Phase.RUNNING: Domain.shutdown, Phase.OFF: None},
    RequestedState.QUIESCE: {Phase.RUNNING: Domain.suspend, Phase.PAUSED: None},
    RequestedState.REBOOT: {Phase.RUNNING: Domain.reboot},
    RequestedState.RESET: {Phase.RUNNING: Domain.reset, Phase.PAUSED: Domain.reset},
}
#: What ``EnabledLogicalElementCapabilities.RequestedStatesSupported`` advertises.
SUPPORTED_REQUESTS: tuple[RequestedState, ...] = tuple(sorted(TRANSITIONS))
#: Values outside the ValueMap of RequestStateChange's RequestedState: 0, 1 and 5 No Change.
NOT_REQUESTABLE = frozenset({*range(RequestedState.ENABLED), RequestedState.NO_CHANGE})


def available_requests(domain: Domain) -> list[RequestedState]:
    """The requests that would change the guest now (``AvailableRequestedStates``)."""
    phase = phase_of(domain)
    return [state for state, moves in TRANSITIONS.items() if moves.get(phase) is not None]


# -- providers --------------------------------------------------------------------


class ComputerSystemProvider(InstanceProvider, MethodProvider):
    """``<Prefix>_ComputerSystem``: DSP1057's central class, one per libvirt domain.

    Reads each domain's name, UUID and state (one listing; the adapter's
    cached domain objects); RequestStateChange calls virDomainCreate,
    Resume, Destroy, Shutdown, Suspend, Reboot or Reset.
    """

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor
        self._requests_lock = threading.Lock()
        #: Last state requested per domain UUID (see the module docstring).
        self._requests: dict[str, RequestedState] = {}

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        for domain in guests(ctx, self.hypervisor):
            yield self._instance(ctx, classname, domain)

    def enumerate_instance_names(
        self, ctx: RequestContext, classname: str
    ) -> Iterable[CIMInstanceName]:
        for domain in guests(ctx, self.hypervisor):
            yield guest_path(ctx, self.hypervisor, domain.name)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        return self._instance(ctx, path.classname, guest_at(self.hypervisor, path))

    @cim_method
    def RequestStateChange(
        self, ctx: RequestContext, target: CIMInstanceName, **params: Any
    ) -> Result:
        """``RequestStateChange(RequestedState, TimeoutPeriod)``, as the module docstring says."""
        domain = guest_at(self.hypervisor, target)
        value = params.get("RequestedState")
        if value is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"RequestStateChange of guest {domain.name!r} needs RequestedState")
        if value in NOT_REQUESTABLE:
            return Result.INVALID_PARAMETER
        if value not in TRANSITIONS:
            return Result.NOT_SUPPORTED
        if not _no_timeout(params.get("TimeoutPeriod")):
            return Result.TIMEOUT_NOT_SUPPORTED
        requested = RequestedState(value)
        moves = TRANSITIONS[requested]
        phase = phase_of(domain)
        if phase not in moves:
            return Result.INVALID_STATE_TRANSITION
        change = moves[phase]
        if change is not None:
            change(domain)
        with self._requests_lock:
            self._requests[domain.uuid] = requested
        return Result.COMPLETED

    def _instance(self, ctx: RequestContext, classname: str, domain: Domain) -> CIMInstance:
        """Made once per domain snapshot and RequestedState (kept here, not in libvirt)."""
        with self._requests_lock:
            requested = self._requests.get(domain.uuid, RequestedState.NO_CHANGE)
        return snapshot_instance(
            ctx, domain, classname,
            lambda: self._values(ctx, classname, domain, requested), requested,
        )

    def _values(self, ctx: RequestContext, classname: str, domain: Domain,
                requested: RequestedState) -> dict[str, Any]:
        prefix = self.hypervisor.prefix
        view = STATE_VIEWS[domain.state]
        return dict(
            CreationClassName=classname,
            Name=domain.name,
            NameFormat=GUEST_NAME_FORMAT,
            ElementName=domain.name,
            UUID=domain.uuid,
            Caption="Virtual System",
            Description=f"{prefix} Virtual System",
            EnabledState=view.enabled,
            RequestedState=requested,
            AvailableRequestedStates=available_requests(domain),
            HealthState=view.health,
            OperationalStatus=[view.operational],
            OperatingStatus=view.operating,
            Dedicated=[Dedicated.NOT_DEDICATED],
            OtherIdentifyingInfo=["Virtual System", f"{prefix} Virtual System", domain.uuid],
            IdentifyingDescriptions=["Type", "Model", "UUID"],
        )


class EnabledLogicalElementCapabilitiesProvider(InstanceProvider):
    """``<Prefix>_EnabledLogicalElementCapabilities`` (DSP1057): one per libvirt domain.

    InstanceID is the domain's name; reads the domain listing only.
    """

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        for domain in guests(ctx, self.hypervisor):
            yield self._instance(ctx, classname, domain)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        name = path.keybindings.get("InstanceID")
        if not isinstance(name, str):
            raise CIMError(CIM_ERR_NOT_FOUND, f"{path} names no guest on {self.hypervisor.uri}")
        return self._instance(ctx, path.classname, self.hypervisor.domain(name))

    @classmethod
    def _instance(cls, ctx: RequestContext, classname: str, domain: Domain) -> CIMInstance:
        """Made once per domain snapshot: it shows the domain's name only."""
        return snapshot_instance(ctx, domain, classname, lambda: cls._values(domain.name))

    @staticmethod
    def _values(name: str) -> dict[str, Any]:
        return dict(
            InstanceID=name,
            ElementName=f"Capabilities of {name}",
            RequestedStatesSupported=list(SUPPORTED_REQUESTS),
            ElementNameEditSupported=False,
        )


def _no_timeout(period: CIMDateTime | None) -> bool:
    """Whether ``period`` asks for nothing: absent, or a zero interval (DMTF: no limit)."""
    return period is None or (period.is_interval and period.timedelta == timedelta(0))
