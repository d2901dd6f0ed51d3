"""Defining and changing guests: ``<Prefix>_VirtualSystemManagementService`` (DSP1042).

One service per hypervisor, keyed as libvirt-cim keyed it (SystemCreationClassName
``<Prefix>_HostSystem``, SystemName the host's name, Name ``Management Service``),
and its capabilities (InstanceID ``ManagementCapabilities``).

The service reports libvirt-cim's properties too: ``Caption`` is libvirt's
hypervisor type and version (``QEMU 7.2.22``), ``LibvirtVersion`` the
library's, ``Release`` virtcim's, and ``Revision``/``Changeset`` the newest
libvirt-cim revision whose behaviour virtcim matches, by which libvirt-cim's
clients (cimtest among them) choose what to expect.

Every method completes before it returns (no jobs) and returns 0 on success.
A request that cannot be honoured raises the CIM error naming the cause, with
the codes DSP0200 allows for InvokeMethod: ``CIM_ERR_INVALID_PARAMETER`` for a
bad setting (naming the parameter, the setting and the property),
``CIM_ERR_NOT_FOUND`` for an unknown guest or device (in libvirt-cim's words:
``Referenced domain `web1' does not exist``), ``CIM_ERR_FAILED`` for a name
or UUID in use and for libvirt's own refusals (:mod:`providers.virt.errors`).

How a change is made, so that elements virtcim does not model survive and
nothing is left half done:

1. the guest's edit lock is taken (:meth:`Hypervisor.editing`: a second
   change of it waits, so that no change is lost) and every setting is
   checked and applied to an editable copy of its persistent definition
   (its own XML tree) before libvirt is touched;
2. inside a transaction of the adapter, devices are attached or detached
   live (``AFFECT_LIVE | AFFECT_CONFIG``) when the guest runs, the edited
   tree is defined, then memory (balloon) and vCPU counts are set live;
3. any failure undoes what was done, live and persistent, and is raised
   (saying so when undoing failed too).

Live changes are made where the driver can make them: disks and interfaces
are hot-plugged, a CD-ROM's medium changed, memory ballooned up to the
running maximum, vCPUs added or removed up to the running maximum. What the
driver cannot change live (it answers "not supported") is changed in the
definition only and takes effect at the next start.

This module is long because it is one concept: the service's six methods
share the way a change is checked, applied and undone (:class:`_GuestChange`
and its helpers); the mapping of each setting lives in
:mod:`providers.virt.mapping`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from lxml import etree
from pywbem import (
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

import virtcim
from providers.computer_system import existing_guest, guest_name_at
from providers.lookup import or_none
from providers.paths import (
    MANAGEMENT_CAPABILITIES_ID,
    MANAGEMENT_SERVICE_NAME,
    VSSD,
    guest_path,
    management_capabilities_path,
    management_service_path,
    rasd_path,
)
from providers.settings import guest_of_vssd, rasd_at
from providers.singleton import SingletonProvider
from providers.valuemaps import (
    EnabledState,
    OperationalStatus,
    SystemManagementMethod,
    SystemManagementReturnCode,
)
from providers.virt import Domain, DomainXML, Hypervisor, device_id, naming
from providers.virt.mapping import (
    Kind,
    SettingsRefused,
    device_tags,
    is_device,
    processor,
    resources,
    system,
)
from virtcim.provider import MethodProvider, RequestContext, cim_method

__all__ = [
    "VirtualSystemManagementCapabilitiesProvider",
    "VirtualSystemManagementServiceProvider",
]

_log = logging.getLogger(__name__)

#: The libvirt-cim revision (``hg`` numbering: commits since the first) and
#: changeset whose behaviour virtcim matches: its last, a5a073c. libvirt-cim's
#: clients read them to choose which behaviour to expect.
LIBVIRT_CIM_REVISION = "1346"
LIBVIRT_CIM_CHANGESET = "a5a073c"
#: Prefixes of classes any hypervisor's methods accept besides its own.
_GENERIC_PREFIXES = ("CIM", "Virt")


# --- the service -----------------------------------------------------------------------------


class VirtualSystemManagementServiceProvider(SingletonProvider, MethodProvider):
    """``<Prefix>_VirtualSystemManagementService``: one per hypervisor, with its methods."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return management_service_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        hv = self.hypervisor
        hypervisor_type = hv.hypervisor_type()
        return {
            "ElementName": MANAGEMENT_SERVICE_NAME,
            "Caption": f"{hypervisor_type} {_dotted(hv.version())}",
            "Description": f"Defines and changes the guests of {hv.uri}",
            "EnabledState": EnabledState.ENABLED,
            "OperationalStatus": [OperationalStatus.OK],
            "Release": virtcim.__version__,
            "LibvirtVersion": _dotted(hv.library_version()),
            "Revision": LIBVIRT_CIM_REVISION,
            "Changeset": LIBVIRT_CIM_CHANGESET,
        }

    # -- methods ------------------------------------------------------------------------------

    @cim_method
    def DefineSystem(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        SystemSettings: CIMInstance | None = None,
        ResourceSettings: Sequence[CIMInstance] | None = None,
        ReferenceConfiguration: CIMInstanceName | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Define a new, stopped guest from a VSSD, RASDs and an optional reference."""
        hv = self.hypervisor
        values = self._system_values("DefineSystem", SystemSettings)
        name = _checked("DefineSystem SystemSettings", lambda: system.system_name(values))
        uuid = values.get("UUID") or None
        self._refuse_existing(name, uuid)
        xml = self._starting_definition(name, values, ReferenceConfiguration)
        where = "DefineSystem SystemSettings"
        _checked(where, lambda: system.apply_system_settings(xml, values))
        if uuid:
            _checked(where, lambda: xml.set_uuid(uuid))
        seen: set[str] = set()
        for index, setting in enumerate(ResourceSettings or []):
            kind, setting_values = self._resource(f"DefineSystem ResourceSettings[{index}]", setting)
            ident = self._apply(f"DefineSystem ResourceSettings[{index}]", xml, kind,
                                setting_values)  # fmt: skip
            if is_device(kind) and ident in seen:
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"DefineSystem ResourceSettings[{index}]: a second device "
                               f"{ident!r} for guest {name!r}")  # fmt: skip
            seen.add(ident)
        system.without_display_hardware(xml)
        with hv.transaction() as transaction:
            domain = transaction.define(xml)
            if values.get("AutoStart"):
                domain.set_autostart(True)
        _log.info("defined guest %r on %s", domain.name, hv.uri)
        return SystemManagementReturnCode.COMPLETED, {"ResultingSystem": guest_path(ctx, hv, domain.name)}

    @cim_method
    def DestroySystem(
        self, ctx: RequestContext, target: CIMInstanceName, AffectedSystem: CIMInstanceName | None = None
    ) -> int:
        """Remove the guest's definition and power it off if it runs (disk images stay).

        The definition goes first: a running guest then runs on, transient,
        and a failure to power it off is undone by defining it again, where
        the other order could not give it back its running state.
        """
        found = self._guest("DestroySystem AffectedSystem", AffectedSystem)
        with self.hypervisor.editing(found) as [domain], domain.transaction():
            if domain.is_persistent():
                domain.undefine()
            if domain.is_active:
                domain.destroy()
        _log.info("destroyed guest %r on %s", domain.name, self.hypervisor.uri)
        return SystemManagementReturnCode.COMPLETED

    @cim_method
    def ModifySystemSettings(
        self, ctx: RequestContext, target: CIMInstanceName, SystemSettings: CIMInstance | None = None
    ) -> int:
        """Change a guest's system settings in its definition (and its autostart flag)."""
        where = "ModifySystemSettings SystemSettings"
        values = self._system_values("ModifySystemSettings", SystemSettings)
        found = self._guest_of_settings(where, values)
        asked_name = values.get("VirtualSystemIdentifier")
        if asked_name and asked_name != found.name:
            raise CIMError(CIM_ERR_FAILED,
                           f"{where}: guest {found.name!r} cannot be renamed to {asked_name!r}")  # fmt: skip
        with self.hypervisor.editing(found) as [domain]:
            config = domain.config()
            uuid = values.get("UUID")
            if uuid and uuid.lower() != (config.uuid or "").lower():
                self._refuse_new_uuid(where, domain, uuid)
            _checked(where, lambda: system.apply_system_settings(config, values))
            autostart = values.get("AutoStart")
            with domain.transaction():
                domain.redefine(config)
                if autostart is not None:
                    domain.set_autostart(bool(autostart))
        return SystemManagementReturnCode.COMPLETED

    @cim_method
    def AddResourceSettings(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        AffectedConfiguration: CIMInstanceName | None = None,
        ResourceSettings: Sequence[CIMInstance] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Add devices to a guest: hot-plugged when it runs, always in its definition."""
        hv = self.hypervisor
        if AffectedConfiguration is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           "AddResourceSettings: AffectedConfiguration is required")  # fmt: skip
        found = hv.domain(guest_of_vssd(hv, AffectedConfiguration))
        with hv.editing(found) as [domain]:
            config = domain.config()
            added: list[tuple[Kind, str]] = []
            for index, setting in enumerate(_required("AddResourceSettings", ResourceSettings)):
                where = f"AddResourceSettings ResourceSettings[{index}]"
                kind, values = self._resource(where, setting)
                if not is_device(kind):
                    raise CIMError(CIM_ERR_INVALID_PARAMETER,
                                   f"{where}: a guest has one {kind.value}; change it with "
                                   "ModifyResourceSettings")  # fmt: skip
                added.append((kind, self._add_device(where, config, kind, values)))
            live = [_attach(domain, config.find_device(ident)) for _, ident in added]
            self._commit(domain, config, live)
        resulting = [rasd_path(ctx, hv, kind, domain.name, ident) for kind, ident in added]
        return SystemManagementReturnCode.COMPLETED, {"ResultingResourceSettings": resulting}

    @cim_method
    def ModifyResourceSettings(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        ResourceSettings: Sequence[CIMInstance] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Change resources named by InstanceID; only the properties given change."""
        hv = self.hypervisor
        asked = []
        for index, setting in enumerate(_required("ModifyResourceSettings", ResourceSettings)):
            where = f"ModifyResourceSettings ResourceSettings[{index}]"
            kind, values = self._resource(where, setting)
            asked.append((where, kind, values, *rasd_at(hv, values.get("InstanceID"))))
        resulting = []
        with self._changing([name for *_, name, _ in asked]) as changes:
            for where, kind, values, name, ident in asked:
                new_ident = changes[name].modify(where, kind, ident, values, hv.driver)
                resulting.append(rasd_path(ctx, hv, kind, name, new_ident))
        return SystemManagementReturnCode.COMPLETED, {"ResultingResourceSettings": resulting}

    @cim_method
    def RemoveResourceSettings(
        self,
        ctx: RequestContext,
        target: CIMInstanceName,
        ResourceSettings: Sequence[CIMInstanceName] | None = None,
    ) -> int:
        """Remove devices: unplugged when the guest runs, always from its definition."""
        hv = self.hypervisor
        asked = []
        for index, path in enumerate(_required("RemoveResourceSettings", ResourceSettings)):
            where = f"RemoveResourceSettings ResourceSettings[{index}]"
            kind = self._kind_of_class(where, path.classname, {})
            asked.append((where, kind, *rasd_at(hv, path.keybindings.get("InstanceID"))))
        with self._changing([name for *_, name, _ in asked]) as changes:
            for where, kind, name, ident in asked:
                changes[name].remove(where, kind, ident)
        return SystemManagementReturnCode.COMPLETED

    # -- helpers ------------------------------------------------------------------------------

    def _system_values(self, method: str, settings: CIMInstance | None) -> dict[str, Any]:
        where = f"{method} SystemSettings"
        if settings is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{where} is required")
        prefix, _, generic = settings.classname.partition("_")
        if generic.lower() != VSSD.lower() or not self._our_prefix(prefix):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: {settings.classname} is not a "
                           f"{naming.classname(self.hypervisor.prefix, VSSD)}")  # fmt: skip
        return _values(settings)

    def _resource(self, where: str, setting: CIMInstance) -> tuple[Kind, dict[str, Any]]:
        values = _values(setting)
        label = f"{where} ({setting.classname} {values.get('InstanceID') or ''})".replace(" )", ")")
        return self._kind_of_class(label, setting.classname, values), values

    def _kind_of_class(self, where: str, classname: str, values: Mapping[str, Any]) -> Kind:
        prefix, _, generic = classname.partition("_")
        if not self._our_prefix(prefix):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: {classname} is not a class of {self.hypervisor.prefix} "
                           "guests")  # fmt: skip
        return _checked(where, lambda: resources.kind_of(generic, values))

    def _our_prefix(self, prefix: str) -> bool:
        return prefix.lower() in {self.hypervisor.prefix.lower(), *map(str.lower, _GENERIC_PREFIXES)}

    def _apply(self, where: str, xml: DomainXML, kind: Kind, values: Mapping[str, Any]) -> str:
        hv = self.hypervisor
        values = _with_default_network(hv, kind, values)
        ident = _checked(where, lambda: resources.apply_resource(xml, kind, values, driver=hv.driver,
                                                            defining=True))  # fmt: skip
        _check_network(hv.uri, where, xml.find_device(ident) if is_device(kind) else None)
        return ident

    def _add_device(
        self, where: str, config: DomainXML, kind: Kind, values: Mapping[str, Any]
    ) -> str:
        """Add a new device to ``config``; return its device id."""
        hv = self.hypervisor
        values = _with_default_network(hv, kind, values)
        element = _checked(where, lambda: resources.build_device(kind, values, driver=hv.driver))
        _check_network(hv.uri, where, element)
        _checked(where, lambda: config.add_device(element))
        return device_id(element) or ""

    def _guest(self, where: str, path: CIMInstanceName | None) -> Domain:
        """The guest a ComputerSystem reference names; ``CIM_ERR_NOT_FOUND`` as libvirt-cim
        worded it when there is none."""
        hv = self.hypervisor
        if path is None:
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{where} is required")
        if not isinstance(path.keybindings.get("Name"), str):
            # libvirt-cim's words, its libvirt error (0: none) included.
            raise CIMError(CIM_ERR_NOT_FOUND,
                           f"Unable to retrieve domain name: Error 0: {where} {path} has no "
                           "Name")  # fmt: skip
        name = guest_name_at(hv, path)
        if name is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"No such instance (CreationClassName): {where} "
                                              f"{path} names no guest on {hv.uri}")  # fmt: skip
        return existing_guest(hv, name, f"{where}: ")

    def _guest_of_settings(self, where: str, values: Mapping[str, Any]) -> Domain:
        """The guest a VSSD describes: by its InstanceID, else its VirtualSystemIdentifier."""
        hv = self.hypervisor
        instance_id = values.get("InstanceID")
        if instance_id:
            path = CIMInstanceName(naming.classname(hv.prefix, VSSD), {"InstanceID": instance_id})
            return hv.domain(guest_of_vssd(hv, path))
        name = values.get("VirtualSystemIdentifier")
        if not name:
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: InstanceID or VirtualSystemIdentifier is required")  # fmt: skip
        return hv.domain(name)

    def _refuse_existing(self, name: str, uuid: str | None) -> None:
        """``CIM_ERR_FAILED`` when a guest has ``name`` or ``uuid``.

        Checked before defining: libvirt would take a definition with a known
        name and no UUID as a change to that guest.
        """
        hv = self.hypervisor
        taken = [(f"name {name!r}", lambda: hv.domain(name))]
        if uuid:
            taken.append((f"UUID {uuid}", lambda: hv.domain_by_uuid(uuid)))
        for what, find in taken:
            existing = or_none(find)
            if existing is not None:
                raise CIMError(CIM_ERR_FAILED,
                               f"DefineSystem: Failed to define domain: guest "
                               f"{existing.name!r} on {hv.uri} already has the {what}")  # fmt: skip

    def _refuse_new_uuid(self, where: str, domain: Domain, uuid: str) -> None:
        """``CIM_ERR_FAILED``: a guest keeps its UUID; libvirt-cim's clients look for the
        guest that already has it (``'web2' is already defined``)."""
        hv = self.hypervisor
        holder = or_none(lambda: hv.domain_by_uuid(uuid))
        if holder is not None:
            raise CIMError(CIM_ERR_FAILED,
                           f"{where}: guest {domain.name!r} cannot take UUID {uuid}: domain "
                           f"{holder.name!r} is already defined with it on {hv.uri}")  # fmt: skip
        raise CIMError(CIM_ERR_FAILED,
                       f"{where}: domain {domain.name!r} is already defined with UUID "
                       f"{domain.uuid} on {hv.uri}; it cannot become {uuid}")  # fmt: skip

    def _starting_definition(
        self, name: str, values: Mapping[str, Any], reference: CIMInstanceName | None
    ) -> DomainXML:
        hv = self.hypervisor
        if reference is not None:
            try:
                source = hv.domain(guest_of_vssd(hv, reference))
            except CIMError as error:
                if error.status_code != CIM_ERR_NOT_FOUND:
                    raise  # libvirt failed: not the parameter's fault
                raise CIMError(CIM_ERR_INVALID_PARAMETER,
                               f"DefineSystem ReferenceConfiguration: "
                               f"{error.status_description}") from None  # fmt: skip
            return _checked("DefineSystem ReferenceConfiguration",
                            lambda: system.clone_definition(source.config(), name, driver=hv.driver))  # fmt: skip
        domain_type, os_type = _new_guest_type(hv, values)
        return _checked("DefineSystem SystemSettings",
                        lambda: system.new_domain(name, domain_type, os_type))  # fmt: skip

    def _commit(
        self, domain: Domain, config: DomainXML, live: Sequence[Callable[[], None]]
    ) -> None:
        system.without_display_hardware(config)
        with domain.transaction():
            if domain.is_active:
                for step in live:
                    _where_supported(domain, step)
            domain.redefine(config)

    @contextmanager
    def _changing(self, names: Sequence[str]) -> Iterator[dict[str, _GuestChange]]:
        """The edits of the guests ``names``, made in the block and then applied
        together, each guest's edit lock held from reading its definition on."""
        hv = self.hypervisor
        found = {name: hv.domain(name) for name in names}
        with hv.editing(*found.values()) as domains:
            changes = {name: _GuestChange(domain) for name, domain in zip(found, domains, strict=True)}
            yield changes
            with hv.transaction() as transaction:
                for change in changes.values():
                    transaction.track(change.domain)
                    self._apply_change(change)

    def _apply_change(self, change: _GuestChange) -> None:
        domain = change.domain
        active = domain.is_active
        if active:
            for step in change.device_steps:
                _where_supported(domain, step)
        domain.redefine(change.config)
        if active:
            for step in change.after_steps:
                _where_supported(domain, step)


class _GuestChange:
    """The edits of one guest in one Modify/RemoveResourceSettings call."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.config = domain.config()
        #: Live device changes, made before the definition is replaced.
        self.device_steps: list[Callable[[], None]] = []
        #: Live memory and vCPU changes, made after (they check the definition).
        self.after_steps: list[Callable[[], None]] = []

    def modify(
        self, where: str, kind: Kind, ident: str, values: Mapping[str, Any], driver: str
    ) -> str:
        network = None
        if is_device(kind):
            self._existing(where, kind, ident)
            network = _network_of(self.config.find_device(ident))
        new_ident = _checked(
            where, lambda: resources.apply_resource(self.config, kind, values, ident, driver=driver)
        )
        changed = self.config.find_device(new_ident) if is_device(kind) else None
        if changed is not None and _network_of(changed) != network:
            _check_network(self.domain.hypervisor.uri, where, changed)
        if kind is Kind.MEM:
            self._live_memory(values)
        elif kind is Kind.PROC:
            self._live_processor(values)
        elif new_ident == ident:
            element = self.config.find_device(new_ident)
            text = etree.tostring(element, encoding="unicode")
            self.device_steps.append(lambda: self.domain.update_device(text, live=True))
        return new_ident

    def remove(self, where: str, kind: Kind, ident: str) -> None:
        if not is_device(kind):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: the {kind.value} of guest {self.domain.name!r} cannot be "
                           "removed")  # fmt: skip
        self._existing(where, kind, ident)
        element = self.config.remove_device(ident)
        text = etree.tostring(element, encoding="unicode")
        self.device_steps.append(lambda: self.domain.detach_device(text, live=True))

    def _existing(self, where: str, kind: Kind, ident: str) -> None:
        element = self.config.find_device(ident)
        if element is None:
            instance_id = naming.rasd_instance_id(self.domain.name, ident)
            raise CIMError(CIM_ERR_NOT_FOUND,
                           f"{where}: No such instance ({instance_id}): guest "
                           f"{self.domain.name!r} has no device {ident!r}")  # fmt: skip
        if element.tag not in device_tags(kind):
            raise CIMError(CIM_ERR_INVALID_PARAMETER,
                           f"{where}: device {ident!r} of guest {self.domain.name!r} is a "
                           f"<{element.tag}>, not a {kind.value}")  # fmt: skip

    def _live_processor(self, values: Mapping[str, Any]) -> None:
        if values.get("VirtualQuantity") is not None:
            count = int(values["VirtualQuantity"])
            if count <= self.domain.xml.max_vcpus:
                self.after_steps.append(lambda: self.domain.set_vcpus(count, live=True))
        tuning = processor.cpu_tuning(values)
        if tuning:
            self.after_steps.append(lambda: self.domain.set_scheduler(tuning, live=True))

    def _live_memory(self, values: Mapping[str, Any]) -> None:
        current = self.config.current_memory_kib
        running_maximum = self.domain.xml.memory_kib or 0
        asked = values.get("VirtualQuantity") is not None or values.get("Reservation") is not None
        if asked and current is not None and current <= running_maximum:
            self.after_steps.append(lambda: self.domain.set_memory(current, live=True))


# --- capabilities ----------------------------------------------------------------------------


class VirtualSystemManagementCapabilitiesProvider(SingletonProvider):
    """``<Prefix>_VirtualSystemManagementCapabilities``: what the service can do."""

    def path(self, ctx: RequestContext) -> CIMInstanceName:
        return management_capabilities_path(ctx, self.hypervisor)

    def properties(self, ctx: RequestContext) -> dict[str, Any]:
        return {
            "ElementName": MANAGEMENT_CAPABILITIES_ID,
            "ElementNameEditSupported": False,
            "VirtualSystemTypesSupported": [self.hypervisor.prefix],
            "SynchronousMethodsSupported": list(SystemManagementMethod),
            "AsynchronousMethodsSupported": [],
        }


# --- module helpers --------------------------------------------------------------------------


def _dotted(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def _values(instance: CIMInstance) -> dict[str, Any]:
    """The properties an embedded instance carries, by their declared names."""
    return {name: prop.value for name, prop in instance.properties.items()}


def _required(method: str, settings: Sequence[Any] | None) -> Sequence[Any]:
    if not settings:
        raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{method}: ResourceSettings is required")
    return settings


def _checked(where: str, step: Callable[[], Any]) -> Any:
    """``step()``, with a refused value raised as ``CIM_ERR_INVALID_PARAMETER`` naming ``where``."""
    try:
        return step()
    except (ValueError, KeyError, TypeError) as error:
        message = error.args[0] if error.args else str(error)
        code = CIM_ERR_FAILED if isinstance(error, SettingsRefused) else CIM_ERR_INVALID_PARAMETER
        raise CIMError(code, f"{where}: {message}") from None


def _with_default_network(
    hv: Hypervisor, kind: Kind, values: Mapping[str, Any]
) -> Mapping[str, Any]:
    """A new ``network`` interface that names no network gets the host's default one,
    as libvirt-cim gave it: ``default`` if there is one, else the first network."""
    if kind is not Kind.NET or values.get("NetworkType") != "network":
        return values
    if values.get("PoolID") is not None or values.get("NetworkName") is not None:
        return values
    names = [network.name for network in hv.networks()]
    if not names:
        return values
    return {**values, "NetworkName": "default" if "default" in names else sorted(names)[0]}


def _check_network(uri: str, where: str, element: etree._Element | None) -> None:
    """Refuse an interface on a virtual network with no name.

    One that names a network the hypervisor at ``uri`` does not have is taken, as libvirt and
    libvirt-cim take it: starting the guest fails, "Network not found", and
    the interface comes from no pool until the network exists.
    """
    if _network_of(element) == "":
        raise CIMError(CIM_ERR_FAILED,
                       f"{where}: Network not found: the interface names no virtual network "
                       f"on {uri}")


def _network_of(element: etree._Element | None) -> str | None:
    """The virtual network an ``<interface type='network'>`` names ("" for none), else None."""
    if element is None or element.tag != "interface" or element.get("type") != "network":
        return None
    source = element.find("source")
    return (source.get("network") if source is not None else None) or ""


def _attach(domain: Domain, element: etree._Element | None) -> Callable[[], None]:
    text = etree.tostring(element, encoding="unicode") if element is not None else ""
    return lambda: domain.attach_device(text, live=True)


def _where_supported(domain: Domain, step: Callable[[], None]) -> None:
    """Make a live change; when the driver cannot, the definition alone carries it."""
    try:
        step()
    except CIMError as error:
        if error.status_code != CIM_ERR_NOT_SUPPORTED:
            raise
        _log.info("guest %r: changed in its definition only: %s",
                  domain.name, error.status_description)  # fmt: skip


def _new_guest_type(hv: Hypervisor, values: Mapping[str, Any]) -> tuple[str, str]:
    """``(<domain type>, <os type>)`` for a new guest of ``hv``."""
    driver = hv.driver
    if driver in ("qemu", "kvm"):
        offered = hv.capabilities().xpath("guest[os_type='hvm']/arch/domain/@type")
        return ("kvm" if "kvm" in offered else "qemu"), "hvm"
    if driver == "lxc":
        return "lxc", "exe"
    if driver in ("xen", "libxl"):
        return "xen", "hvm" if values.get("IsFullVirt") else "linux"
    return driver, "hvm"
