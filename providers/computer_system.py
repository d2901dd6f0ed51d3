"""Guests: ``<Prefix>_ComputerSystem`` and their state capabilities (DSP1057 Virtual System).

One ``ComputerSystem`` per libvirt domain, named by the domain's name (as
libvirt-cim did, so its clients keep working), with its state mapped to the
DMTF state properties, and ``RequestStateChange`` turning DMTF state requests
into libvirt calls. One ``EnabledLogicalElementCapabilities`` per domain,
InstanceID the domain's name, says which requests are honoured.

RequestStateChange, synchronously:

* returns 0 when the change was made;
* fails with ``CIM_ERR_FAILED`` "Invalid state transition", naming the guest
  and its state, when the guest's state does not allow the request (pausing
  a stopped guest, starting a running one, pausing a paused one): libvirt-cim
  failed these the same way, and its clients only look for an error, never
  at the return value;
* returns 1 Not Supported for states DMTF defines but libvirt has no call
  for (7 Test, 8 Defer, reserved and vendor values) and 5 Invalid
  Parameter for values the parameter's ValueMap does not list (0, 1, 5):
  DSP0200 keeps ``CIM_ERR_NOT_SUPPORTED`` for servers without methods;
* returns 4098 when a TimeoutPeriod other than zero is given: the change is
  requested at once and never waited for.

A libvirt failure is raised as the CIM error naming the guest and libvirt's
message. Shut Down (4) asks the guest to shut down and returns at once, as
libvirt does. Reset (11) is libvirt's hard reset; a paused guest is resumed
after it, since DMTF's Reset ends Enabled. Offline (6) saves a running or
paused guest's memory state with libvirt's managed save and stops it: the
guest is then 6 Enabled but Offline, as libvirt-cim showed a guest with a
saved state, until Enabled (2) resumes it from that state.

RequestedState is the last state requested through this server for the guest
(DMTF: "the last requested or desired state"), also Reboot (10) and Reset
(11), as libvirt-cim reported them; 0 Unknown for a guest nobody asked to
change since the server started. It is kept in memory, per domain UUID, and
forgotten when the domain is undefined: libvirt has no notion of a requested
state.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIMDateTime,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from providers.classes import VIRT_NAMESPACE
from providers.lookup import existing_domain
from providers.memo import guests, snapshot_instance
from providers.paths import COMPUTER_SYSTEM, guest_path
from providers.per_guest import PerGuestProvider
from providers.valuemaps import (
    Dedicated,
    EnabledState,
    HealthState,
    OperatingStatus,
    OperationalStatus,
    RequestedState,
)
from providers.valuemaps import RequestStateChangeResult as Result
from providers.virt import Domain, DomainState, Event, Hypervisor, naming
from virtcim.jobs import JobControl, JobRegistry
from virtcim.provider import MethodProvider, RequestContext, cim_method

__all__ = [
    "SUPPORTED_REQUESTS",
    "ComputerSystemProvider",
    "EnabledLogicalElementCapabilitiesProvider",
    "existing_guest",
    "guest_name_at",
    "guests_named",
]

#: ``CIM_System.NameFormat``: a libvirt domain name follows none of the listed formats.
GUEST_NAME_FORMAT = "Other"
#: Seconds a shutdown job waits for the guest to be off (as a migration's restart waits).
SHUTDOWN_WAIT = 120


# -- names ----------------------------------------------------------------------


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
    """The domain at a ComputerSystem path; ``CIM_ERR_NOT_FOUND`` when there is none.

    The message names the key that finds nothing, in libvirt-cim's words
    (``No such instance (CreationClassName)``), which its clients look for.
    """
    classname = naming.classname(hv.prefix, COMPUTER_SYSTEM)
    creation = path.keybindings.get("CreationClassName")
    if path.classname.lower() != classname.lower() or (
            creation is not None and str(creation).lower() != classname.lower()):
        raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance (CreationClassName): {path} names "
                                          f"no guest on {hv.uri}")
    name = path.keybindings.get("Name")
    if not isinstance(name, str):
        raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance (Name): {path} names no guest on "
                                          f"{hv.uri}")
    return existing_guest(hv, name, "No such instance (Name): ")


def existing_guest(hv: Hypervisor, name: str, context: str = "") -> Domain:
    """Domain ``name``; else ``CIM_ERR_NOT_FOUND`` as libvirt-cim worded it, after ``context``.

    ``Referenced domain `web1' does not exist: Domain not found (no guest 'web1'
    on qemu:///system)``: libvirt-cim's clients compare the first part.
    """
    try:
        return hv.domain(name)
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_FOUND:
            raise
        raise CIMError(CIM_ERR_NOT_FOUND,
                       f"{context}Referenced domain `{name}' does not exist: Domain not found "
                       f"(no guest {name!r} on {hv.uri})") from None  # fmt: skip


def guests_named(hv: Hypervisor, names: Iterable[object]) -> Iterator[Domain]:
    """The guests among ``names``, one libvirt lookup each (names no guest has are skipped).

    What a query that asks for guests by name (``WHERE Name = 'web1'``) needs,
    rather than a listing of every guest.
    """
    for name in names:
        domain = existing_domain(hv, name) if isinstance(name, str) else None
        if domain is not None:
            yield domain


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


def _reset(domain: Domain) -> None:
    """DMTF's Reset: disabled, then enabled. A paused guest is resumed after the reset."""
    domain.reset()
    if domain.state is DomainState.PAUSED:
        domain.resume()


#: The libvirt call for each request, by the phases it is honoured from (those
#: of libvirt-cim, and Disabled also from a paused or otherwise active guest).
#: A phase not listed makes the request an invalid state transition.
Change = Callable[[Domain], None]
TRANSITIONS: Mapping[RequestedState, Mapping[Phase, Change]] = {
    RequestedState.ENABLED: {Phase.OFF: Domain.start, Phase.PAUSED: Domain.resume},
    RequestedState.DISABLED: {Phase.RUNNING: Domain.destroy, Phase.PAUSED: Domain.destroy,
                              Phase.OTHER: Domain.destroy},
    RequestedState.SHUT_DOWN: {Phase.RUNNING: Domain.shutdown},
    RequestedState.QUIESCE: {Phase.RUNNING: Domain.suspend},
    RequestedState.OFFLINE: {Phase.RUNNING: Domain.save_state, Phase.PAUSED: Domain.save_state},
    RequestedState.REBOOT: {Phase.RUNNING: Domain.reboot},
    RequestedState.RESET: {Phase.RUNNING: _reset, Phase.PAUSED: _reset},
}
#: What ``EnabledLogicalElementCapabilities.RequestedStatesSupported`` advertises.
SUPPORTED_REQUESTS: tuple[RequestedState, ...] = tuple(sorted(TRANSITIONS))
#: Values outside the ValueMap of RequestStateChange's RequestedState: 0, 1 and 5 No Change.
NOT_REQUESTABLE = frozenset({*range(RequestedState.ENABLED), RequestedState.NO_CHANGE})
#: How the phases read in an invalid state transition's message.
PHASE_WORDS: Mapping[Phase, str] = {
    Phase.OFF: "not running", Phase.RUNNING: "running", Phase.PAUSED: "paused",
    Phase.OTHER: "neither running nor paused",
}


def available_requests(domain: Domain) -> list[RequestedState]:
    """The requests the guest's state allows now (``AvailableRequestedStates``)."""
    phase = phase_of(domain)
    return [state for state, moves in TRANSITIONS.items() if phase in moves]


class RequestedStates:
    """The last state requested for each guest of one hypervisor, by domain UUID.

    Kept in memory; an entry is dropped when libvirt reports its domain
    undefined, so a guest defined again (even with the same UUID) starts at
    0 Unknown.
    """

    def __init__(self, hypervisor: Hypervisor) -> None:
        self._hypervisor = hypervisor
        self._lock = threading.Lock()
        self._states: dict[str, RequestedState] = {}
        self._listening = False

    def get(self, uuid: str) -> RequestedState:
        with self._lock:
            return self._states.get(uuid, RequestedState.UNKNOWN)

    def record(self, uuid: str, state: RequestedState) -> None:
        with self._lock:
            listen = not self._listening
            self._listening = True
            self._states[uuid] = state
        if listen:
            self._hypervisor.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.undefines_domain:
            with self._lock:
                self._states.pop(event.uuid, None)


# -- providers --------------------------------------------------------------------


class GuestLookup(PerGuestProvider):
    """A per-guest provider whose one :attr:`lookup_properties` property is the guest's
    name: a query that asks for guests by it looks each up."""

    def enumerate_where(
        self, ctx: RequestContext, classnames: Sequence[str],
        property_list: Sequence[str] | None, values: Mapping[str, frozenset[Any]],
    ) -> Iterable[CIMInstance]:
        """The instances of the guests a query names (``Name = 'web1'``), one lookup each."""
        (key,) = self.lookup_properties
        return self.instances_of_each(ctx, classnames, guests_named(self.hypervisor, values[key]))


class ComputerSystemProvider(GuestLookup, MethodProvider):
    """``<Prefix>_ComputerSystem``: DSP1057's central class, one per libvirt domain.

    Reads each domain's name, UUID and state (one listing; the adapter's
    cached domain objects); RequestStateChange calls virDomainCreate,
    Resume, Destroy, Shutdown, Suspend, Reboot or Reset.
    """

    identifier = ("Name", "domain name")
    lookup_properties = frozenset({"name"})

    def __init__(self, hypervisor: Hypervisor) -> None:
        super().__init__(hypervisor)
        #: Last state requested per domain (see the module docstring).
        self._requests = RequestedStates(hypervisor)

    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterable[CIMInstance]:
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
    ) -> Result | tuple[Result, dict[str, Any]]:
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
        phase = phase_of(domain)
        change = TRANSITIONS[requested].get(phase)
        if change is None:
            raise CIMError(CIM_ERR_FAILED,
                           f"Invalid state transition: guest {domain.name!r} on "
                           f"{self.hypervisor.uri} is {PHASE_WORDS[phase]}; "
                           f"{_label(requested)} cannot be requested now")  # fmt: skip
        if requested is RequestedState.SHUT_DOWN and ctx.jobs is not None:
            return self._shut_down(ctx, ctx.jobs, target, domain)
        change(domain)
        self._requests.record(domain.uuid, requested)
        return Result.COMPLETED

    def _shut_down(self, ctx: RequestContext, jobs: JobRegistry, target: CIMInstanceName,
                   domain: Domain) -> tuple[Result, dict[str, Any]]:
        """Ask the guest to shut down and return a job that ends when it is off.

        The job waits on libvirt's lifecycle events, up to :data:`SHUTDOWN_WAIT`
        seconds; terminating it stops the wait and leaves the guest as libvirt
        has it (still shutting down, or running if it ignored the request).
        """
        hv = self.hypervisor
        wake = threading.Event()

        def on_event(event: Event) -> None:
            if event.kind == "domain" and event.uuid == domain.uuid:
                wake.set()

        def wait_until_off(control: JobControl) -> None:
            remove = hv.add_listener(on_event)
            try:
                deadline = time.monotonic() + SHUTDOWN_WAIT
                while _is_active(hv, domain.name):
                    control.check()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise CIMError(CIM_ERR_FAILED,
                                       f"guest {domain.name!r} on {hv.uri} did not shut down "
                                       f"within {SHUTDOWN_WAIT} s; it is left as it is")
                    wake.wait(left)
                    wake.clear()
            finally:
                remove()

        domain.shutdown()
        self._requests.record(domain.uuid, RequestedState.SHUT_DOWN)
        path = guest_path(ctx, hv, domain.name)
        try:
            job = jobs.start(f"Shut down {domain.name}", VIRT_NAMESPACE, wait_until_off,
                             owner=path, affected=[path], cancel=wake.set)
        except CIMError as error:
            raise CIMError(CIM_ERR_FAILED, f"guest {domain.name!r} on {hv.uri} was asked to shut "
                                           f"down, but {error.status_description}") from error
        return Result.JOB_STARTED, {"Job": ctx.path(job.classname, namespace=VIRT_NAMESPACE,
                                                    InstanceID=job.instance_id)}

    def _instance(self, ctx: RequestContext, classname: str, domain: Domain) -> CIMInstance:
        """Made once per domain snapshot and RequestedState (kept here, not in libvirt)."""
        requested = self._requests.get(domain.uuid)
        return snapshot_instance(
            ctx, domain, classname,
            lambda: self._values(ctx, classname, domain, requested), requested,
        )

    def _values(self, ctx: RequestContext, classname: str, domain: Domain,
                requested: RequestedState) -> dict[str, Any]:
        prefix = self.hypervisor.prefix
        view = STATE_VIEWS[domain.state]
        enabled = view.enabled
        if domain.state is DomainState.SHUTOFF and domain.has_saved_state():
            # its next start resumes it: suspended to disk, as libvirt-cim showed it
            enabled = EnabledState.ENABLED_BUT_OFFLINE
        return dict(
            CreationClassName=classname,
            Name=domain.name,
            NameFormat=GUEST_NAME_FORMAT,
            ElementName=domain.name,
            UUID=domain.uuid,
            Caption="Virtual System",
            Description=f"{prefix} Virtual System",
            EnabledState=enabled,
            RequestedState=requested,
            AvailableRequestedStates=available_requests(domain),
            HealthState=view.health,
            OperationalStatus=[view.operational],
            OperatingStatus=view.operating,
            Dedicated=[Dedicated.NOT_DEDICATED],
            OtherIdentifyingInfo=["Virtual System", f"{prefix} Virtual System", domain.uuid],
            IdentifyingDescriptions=["Type", "Model", "UUID"],
        )


class EnabledLogicalElementCapabilitiesProvider(GuestLookup):
    """``<Prefix>_EnabledLogicalElementCapabilities`` (DSP1057): one per libvirt domain.

    InstanceID is the domain's name; reads the domain listing only.
    """

    lookup_properties = frozenset({"instanceid"})

    def instances_of(
        self, ctx: RequestContext, classname: str, domain: Domain
    ) -> Iterable[CIMInstance]:
        yield self._instance(ctx, classname, domain)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        name = path.keybindings.get("InstanceID")
        if not isinstance(name, str):
            raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance (InstanceID): {path} names no "
                                              f"guest on {self.hypervisor.uri}")
        domain = existing_guest(self.hypervisor, name, "No such instance (InstanceID): ")
        return self._instance(ctx, path.classname, domain)

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


def _label(state: RequestedState) -> str:
    """``Quiesce (9)``: a requested state as DMTF names it, with its value."""
    return f"{state.name.replace('_', ' ').title()} ({int(state)})"


def _is_active(hv: Hypervisor, name: str) -> bool:
    """Whether guest ``name`` still runs (a guest gone meanwhile does not)."""
    try:
        return hv.domain(name).is_active
    except CIMError as error:
        if error.status_code == CIM_ERR_NOT_FOUND:
            return False
        raise


def _no_timeout(period: CIMDateTime | None) -> bool:
    """Whether ``period`` asks for nothing: absent, or a zero interval (DMTF: no limit)."""
    return period is None or (period.is_interval and period.timedelta == timedelta(0))
