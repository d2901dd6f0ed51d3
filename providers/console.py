"""Reaching the guests' graphical consoles (DSP1076 KVM Redirection), as libvirt-cim served it.

* ``<Prefix>_ConsoleRedirectionService``: one per hypervisor, keyed as the
  other services (the host's keys, Name ``ConsoleRedirectionService``), and its
  capabilities (InstanceID ``ConsoleRedirectionCapabilities``): consoles are
  shared (SharingMode 3), up to libvirt-cim's 65535 at once. No methods.
* ``<Prefix>_KVMRedirectionSAP``: one per guest with a VNC console on a TCP
  port (the first such ``<graphics>``: QEMU takes one), KVMProtocol 4
  (VNC-RFB). Name is libvirt-cim's ``<port>:<remote port>``: the console's
  port (-1 while libvirt has yet to choose it) and the port of the connected
  client (the lowest, if several are), 0 when none is, -1 when the console
  does not listen. EnabledState is 2 with a client, 6 listening without one,
  3 not listening. Who is connected comes from :mod:`providers.virt.sessions`.

A SAP is the console at one port: the second number of its Name changes as
clients come and go, so GetInstance compares the first only and answers with
the console as it is now; a path taken while an automatic port was not yet
chosen (``-1:-1``) names the console whatever port it gets.

Associations, each a link source for :class:`~providers.system_associations.LinkProvider`:
HostedAccessPoint (host -> SAP), ServiceAccessBySAP (service -> SAP),
SAPAvailableForElement (guest -> SAP) and ServiceAffectsElement (service ->
each guest, its pointing devices and keyboards, and its displays, as
libvirt-cim listed them).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.computer_system import guest_name_at
from providers.devices import (
    DisplayControllerProvider,
    PointingDeviceProvider,
    device_location,
    device_provider_for,
)
from providers.memo import guests
from providers.paths import (
    COMPUTER_SYSTEM,
    CONSOLE_CAPABILITIES_ID,
    CONSOLE_SERVICE,
    CONSOLE_SERVICE_NAME,
    HOST_SYSTEM,
    REDIRECTION_SAP,
    console_capabilities_path,
    console_service_path,
    device_path,
    guest_path,
    host_path,
    is_host_path,
    sap_path,
)
from providers.singleton import SingletonProvider
from providers.system_associations import Link, existing_domain
from providers.valuemaps import (
    EnabledState,
    KVMProtocol,
    RedirectionServiceType,
    RedirectionSharingMode,
    RequestedState,
)
from providers.virt import Domain, Hypervisor, naming
from providers.virt.sessions import PortUse, Sessions, console_sessions
from virtcim.provider import InstanceProvider, RequestContext, same_keys

__all__ = [
    "AFFECTED_ELEMENTS",
    "GUEST_ACCESS_POINTS",
    "HOSTED_ACCESS_POINTS",
    "SERVICE_ACCESS_POINTS",
    "Console",
    "ConsoleRedirectionServiceCapabilitiesProvider",
    "ConsoleRedirectionServiceProvider",
    "KVMRedirectionSAPProvider",
]

#: libvirt-cim's bound on the consoles in use at once, which its clients compare.
MAX_ENABLED_SAPS = 65535
#: The consoles a client reaches through a SAP.
_VNC = "vnc"
#: The port of a console whose port libvirt chooses when the guest starts, until then.
UNCHOSEN_PORT = -1
#: The device families ServiceAffectsElement links, after each guest (libvirt-cim's).
_AFFECTED_DEVICES = (PointingDeviceProvider, DisplayControllerProvider)


@dataclass(frozen=True)
class Console:
    """A guest's VNC console; ``use`` is ``None`` while the guest does not run."""

    guest: str
    port: int
    autoport: bool
    use: PortUse | None

    @property
    def client_port(self) -> int:
        if self.use is None or not (self.use.listening or self.use.clients):
            return -1
        return self.use.clients[0] if self.use.clients else 0

    @property
    def name(self) -> str:
        return f"{self.port}:{self.client_port}"

    @property
    def state(self) -> EnabledState:
        if self.client_port > 0:
            return EnabledState.ENABLED
        return EnabledState.ENABLED_BUT_OFFLINE if self.client_port == 0 else EnabledState.DISABLED


def console_of(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> Console | None:
    """``domain``'s VNC console on a TCP port, if it has one."""
    graphics = next((graphics for graphics in domain.xml.graphics()
                     if graphics.type == _VNC and graphics.port is not None), None)  # fmt: skip
    if graphics is None or graphics.port is None:
        return None
    use = None
    if domain.is_active and graphics.port > 0:
        use = _sessions(ctx, hv).at(domain.uuid, graphics.port)
    return Console(domain.name, graphics.port, graphics.autoport, use)


def _sessions(ctx: RequestContext, hv: Hypervisor) -> Sessions:
    """Who is connected to ``hv``'s consoles, looked up once per request."""
    return ctx.memo(("console sessions", hv), lambda: console_sessions(hv))


def console_at(ctx: RequestContext, hv: Hypervisor, path: CIMInstanceName) -> Console:
    """The console a SAP path names; ``CIM_ERR_NOT_FOUND`` naming the key that finds
    nothing, in libvirt-cim's words, and ``CIM_ERR_FAILED`` for a Name that is no
    ``<port>:<remote port>``, as libvirt-cim answered it."""
    keys = path.keybindings
    if str(keys.get("CreationClassName", "")).lower() != path.classname.lower():
        raise _not_found("CreationClassName", path, hv)
    system_class = naming.classname(hv.prefix, COMPUTER_SYSTEM)
    if str(keys.get("SystemCreationClassName", "")).lower() != system_class.lower():
        raise _not_found("SystemCreationClassName", path, hv)
    name = keys.get("SystemName")
    domain = existing_domain(hv, name if isinstance(name, str) else None)
    console = console_of(ctx, hv, domain) if domain is not None else None
    if domain is None or console is None:
        raise _not_found("SystemName", path, hv)
    port = _port_of(keys.get("Name"))
    if port is None:
        raise CIMError(CIM_ERR_FAILED,
                       f"Unable to determine console port for guest '{domain.name}': Name "
                       f"{keys.get('Name')!r} is not <port>:<remote port> ({path} on {hv.uri})")
    if port != console.port and not (port == UNCHOSEN_PORT and console.autoport):
        raise _not_found("Name", path, hv)
    return console


def _port_of(name: object) -> int | None:
    """The console port of a SAP Name ``<port>:<remote port>``."""
    if not isinstance(name, str):
        return None
    port, colon, remote = name.partition(":")
    try:
        return int(port) if colon and int(remote) >= -1 else None
    except ValueError:
        return None


def _not_found(key: str, path: CIMInstanceName, hv: Hypervisor) -> CIMError:
    return CIMError(CIM_ERR_NOT_FOUND,
                    f"No such instance ({key}): no console {path} on {hv.uri}")


class ConsoleRedirectionServiceProvider(SingletonProvider):
    """``<Prefix>_ConsoleRedirectionService``: the guests' consoles, shared, no methods."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return console_service_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": CONSOLE_SERVICE_NAME,
                "Description": f"The graphical consoles of the guests of {self.hypervisor.uri}",
                "RedirectionServiceType": [RedirectionServiceType.KVM],
                "MaxCurrentEnabledSAPs": MAX_ENABLED_SAPS,
                "SharingMode": RedirectionSharingMode.SHARED,
                "EnabledState": EnabledState.ENABLED, "EnabledDefault": EnabledState.ENABLED,
                "RequestedState": RequestedState.NOT_APPLICABLE}  # fmt: skip


class ConsoleRedirectionServiceCapabilitiesProvider(SingletonProvider):
    """``<Prefix>_ConsoleRedirectionServiceCapabilities``: consoles are shared."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return console_capabilities_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {"ElementName": CONSOLE_CAPABILITIES_ID, "SharingModeSupported": [RedirectionSharingMode.SHARED]}


class KVMRedirectionSAPProvider(InstanceProvider):
    """``<Prefix>_KVMRedirectionSAP``: each guest's VNC console."""

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        for console in consoles(ctx, self.hypervisor):
            yield self._instance(ctx, classname, console)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        return self._instance(ctx, path.classname, console_at(ctx, self.hypervisor, path))

    def _instance(self, ctx: RequestContext, classname: str, console: Console) -> CIMInstance:
        return ctx.instance(
            classname,
            SystemCreationClassName=naming.classname(self.hypervisor.prefix, COMPUTER_SYSTEM),
            SystemName=console.guest, CreationClassName=classname,
            Name=console.name, ElementName=console.name,
            KVMProtocol=KVMProtocol.VNC_RFB, EnabledState=console.state,
            RequestedState=RequestedState.NOT_APPLICABLE,
        )


def consoles(ctx: RequestContext, hv: Hypervisor) -> Iterator[Console]:
    """The console of each guest that has one."""
    for domain in guests(ctx, hv):
        console = console_of(ctx, hv, domain)
        if console is not None:
            yield console


def _console_or_none(ctx: RequestContext, hv: Hypervisor,
                     path: CIMInstanceName) -> Console | None:  # fmt: skip
    try:
        return console_at(ctx, hv, path)
    except CIMError:
        return None


# -- associations -----------------------------------------------------------------------------


class _ConsoleLinks(abc.ABC):
    """Links between each console (at ``sap_role``) and an object at ``near_role``."""

    near_role: str
    sap_role: str

    @abc.abstractmethod
    def near_consoles(
        self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> Iterable[Console]:
        """The consoles linked to ``source``, an object of the near role's class."""

    @abc.abstractmethod
    def near_path(self, ctx: RequestContext, hv: Hypervisor, console: Console) -> CIMInstanceName:
        """The object at the near role of ``console``'s link."""

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        for console in consoles(ctx, hv):
            yield self._link(ctx, hv, console)

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == self.near_role:
            found: Iterable[Console] = self.near_consoles(ctx, hv, source)
        else:
            console = _console_or_none(ctx, hv, source)
            found = [console] if console is not None else []
        return [self._link(ctx, hv, console) for console in found]

    def _link(self, ctx: RequestContext, hv: Hypervisor, console: Console) -> Link:
        return {self.near_role: self.near_path(ctx, hv, console),
                self.sap_role: sap_path(ctx, hv, console.guest, console.name)}


class HostedAccessPoints(_ConsoleLinks):
    """HostedAccessPoint: Antecedent the host, Dependent each console."""

    near_role, sap_role = "Antecedent", "Dependent"
    ends = {"Antecedent": frozenset({HOST_SYSTEM}), "Dependent": frozenset({REDIRECTION_SAP})}

    def near_consoles(
        self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> Iterable[Console]:
        return consoles(ctx, hv) if is_host_path(hv, source) else []

    def near_path(self, ctx: RequestContext, hv: Hypervisor, console: Console) -> CIMInstanceName:
        return host_path(ctx, hv)


class ServiceAccessPoints(_ConsoleLinks):
    """ServiceAccessBySAP: Antecedent the console redirection service, Dependent each console."""

    near_role, sap_role = "Antecedent", "Dependent"
    ends = {"Antecedent": frozenset({CONSOLE_SERVICE}), "Dependent": frozenset({REDIRECTION_SAP})}

    def near_consoles(
        self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> Iterable[Console]:
        return consoles(ctx, hv) if same_keys(source, console_service_path(ctx, hv)) else []

    def near_path(self, ctx: RequestContext, hv: Hypervisor, console: Console) -> CIMInstanceName:
        return console_service_path(ctx, hv)


class GuestAccessPoints(_ConsoleLinks):
    """SAPAvailableForElement: ManagedElement a guest, AvailableSAP its console."""

    near_role, sap_role = "ManagedElement", "AvailableSAP"
    ends = {"ManagedElement": frozenset({COMPUTER_SYSTEM}),
            "AvailableSAP": frozenset({REDIRECTION_SAP})}  # fmt: skip

    def near_consoles(
        self, ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> Iterable[Console]:
        domain = existing_domain(hv, guest_name_at(hv, source))
        console = console_of(ctx, hv, domain) if domain is not None else None
        return [console] if console is not None else []

    def near_path(self, ctx: RequestContext, hv: Hypervisor, console: Console) -> CIMInstanceName:
        return guest_path(ctx, hv, console.guest)


class AffectedElements:
    """ServiceAffectsElement: AffectingElement the console redirection service,
    AffectedElement each guest, then its pointing devices and its displays."""

    ends = {"AffectingElement": frozenset({CONSOLE_SERVICE}),
            "AffectedElement": frozenset({COMPUTER_SYSTEM,
                                          *(family.generic_class
                                            for family in _AFFECTED_DEVICES)})}  # fmt: skip

    def all_links(self, ctx: RequestContext, hv: Hypervisor) -> Iterator[Link]:
        service = console_service_path(ctx, hv)
        for domain in guests(ctx, hv):
            for element in self._affected(ctx, hv, domain):
                yield {"AffectingElement": service, "AffectedElement": element}

    def links_at(
        self, ctx: RequestContext, hv: Hypervisor, role: str, source: CIMInstanceName
    ) -> Iterable[Link]:
        if role == "AffectingElement":
            return self.all_links(ctx, hv) if same_keys(source, console_service_path(ctx, hv)) else []
        element = self._existing(ctx, hv, source)
        if element is None:
            return []
        return [{"AffectingElement": console_service_path(ctx, hv), "AffectedElement": element}]

    @staticmethod
    def _affected(ctx: RequestContext, hv: Hypervisor, domain: Domain) -> Iterator[CIMInstanceName]:
        yield guest_path(ctx, hv, domain.name)
        for family in _AFFECTED_DEVICES:
            for device in family.devices(domain):
                yield device_path(ctx, hv, family.generic_class, domain.name, device.ident)

    @staticmethod
    def _existing(
        ctx: RequestContext, hv: Hypervisor, source: CIMInstanceName
    ) -> CIMInstanceName | None:
        """The path of the guest, pointing device or display ``source`` names, if it exists."""
        name = guest_name_at(hv, source)
        if name is not None:
            domain = existing_domain(hv, name)
            return guest_path(ctx, hv, domain.name) if domain is not None else None
        family = device_provider_for(hv, source.classname)
        location = device_location(hv, source)
        if family is None or family not in _AFFECTED_DEVICES or location is None:
            return None
        domain = existing_domain(hv, location[0])
        if domain is None or all(device.ident != location[1] for device in family.devices(domain)):
            return None
        return device_path(ctx, hv, family.generic_class, domain.name, location[1])


HOSTED_ACCESS_POINTS = HostedAccessPoints()
SERVICE_ACCESS_POINTS = ServiceAccessPoints()
GUEST_ACCESS_POINTS = GuestAccessPoints()
AFFECTED_ELEMENTS = AffectedElements()
