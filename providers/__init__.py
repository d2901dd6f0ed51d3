"""The CIM providers of the virtualization model: which provider serves which class.

:func:`register_providers` registers, for each hypervisor, one provider per
family in :data:`PROVIDER_FAMILIES` for the leaf classes of its prefix
(``ComputerSystemProvider(hv)`` serves ``KVM_ComputerSystem``), and one
:class:`~providers.system_associations.LinkProvider` per association in
:data:`ASSOCIATION_LINKS`; then declares the model's profiles.

Adding providers (a new module ``providers/<family>.py``):

* an instance or method provider: a class constructed with its
  :class:`~providers.virt.Hypervisor`; add
  ``ProviderFamily(MyProvider, ("MyClass",))`` to :data:`PROVIDER_FAMILIES`,
  naming the generic classes (``Virt_MyClass`` in ``mof/``; the leaves are
  generated);
* links of an association served here (ElementCapabilities, HostedService,
  HostedDependency, SystemDevice): add a link source to its list in
  :data:`ASSOCIATION_LINKS`, e.g. ``hosted_service("VirtualSystemManagementService",
  vsms_path)`` where ``vsms_path(ctx, hv)`` returns the service's path, or a
  :class:`~providers.system_associations.SingletonLink` between a service and
  its capabilities;
* a new association: either a provider in :data:`PROVIDER_FAMILIES`, or a key
  of :data:`ASSOCIATION_LINKS` with its link sources
  (:class:`~providers.system_associations.LinkSource`);
* a profile: register it in :func:`register_profiles`, before the profile
  that references it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from providers.classes import VIRT_NAMESPACE
from providers.computer_system import (
    ComputerSystemProvider,
    EnabledLogicalElementCapabilitiesProvider,
)
from providers.devices import DEVICE_PROVIDERS
from providers.host import HostSystemProvider
from providers.system_associations import (
    GUEST_CAPABILITIES,
    GUEST_DEVICES,
    HOSTED_GUESTS,
    LinkProvider,
    LinkSource,
)
from providers.virt import Hypervisor, naming
from virtcim.interop import Organization, ProfileRegistry
from virtcim.provider import Provider, ProviderRegistry
from virtcim.repository.schema import Repository

__all__ = [
    "ASSOCIATION_LINKS",
    "PROVIDER_FAMILIES",
    "SYSTEM_VIRTUALIZATION_PROFILE_ID",
    "VIRTUAL_SYSTEM_PROFILE_ID",
    "ProviderFamily",
    "register_profiles",
    "register_providers",
]

#: libvirt-cim's InstanceIDs of the two profiles, kept for its clients.
SYSTEM_VIRTUALIZATION_PROFILE_ID = "CIM:DSP1042-SystemVirtualization-1.0.0"
VIRTUAL_SYSTEM_PROFILE_ID = "CIM:DSP1057-VirtualSystem-1.0.0a"


class ProviderFamily(NamedTuple):
    """A provider class and the generic classes one of its instances serves."""

    factory: Callable[[Hypervisor], Provider]
    generic_classes: tuple[str, ...]


PROVIDER_FAMILIES: list[ProviderFamily] = [
    ProviderFamily(HostSystemProvider, ("HostSystem",)),
    ProviderFamily(ComputerSystemProvider, ("ComputerSystem",)),
    ProviderFamily(EnabledLogicalElementCapabilitiesProvider,
                   ("EnabledLogicalElementCapabilities",)),
    *(ProviderFamily(device, (device.generic_class,)) for device in DEVICE_PROVIDERS),
]

#: Association generic class -> the kinds of links its provider serves.
ASSOCIATION_LINKS: dict[str, list[LinkSource]] = {
    "HostedDependency": [HOSTED_GUESTS],
    "SystemDevice": [GUEST_DEVICES],
    "ElementCapabilities": [GUEST_CAPABILITIES],
    "HostedService": [],
}


def register_providers(
    registry: ProviderRegistry,
    repository: Repository,
    hypervisors: Sequence[Hypervisor],
    profiles: ProfileRegistry | None = None,
) -> None:
    """Register every model provider for every hypervisor in ``root/virt``, and the profiles.

    Raises ``ValueError`` when a hypervisor's leaf class is missing from
    ``repository`` (build it with :func:`providers.classes.build_repository`
    and the same hypervisors) or two hypervisors share a class prefix.
    """
    for hv in hypervisors:
        for family in PROVIDER_FAMILIES:
            _register(registry, repository, hv, family.generic_classes, family.factory(hv))
        for association, sources in ASSOCIATION_LINKS.items():
            _register(registry, repository, hv, (association,), LinkProvider(hv, sources))
    if profiles is not None:
        register_profiles(profiles)


def register_profiles(profiles: ProfileRegistry) -> None:
    """DSP1057 Virtual System (central: the guests), then DSP1042 System
    Virtualization (central: the hosts), which references it."""
    virtual_system = profiles.register(
        Organization.DMTF, "Virtual System", "1.0.0", document="DSP1057",
        central_classes=[(VIRT_NAMESPACE, "Virt_ComputerSystem")],
        instance_id=VIRTUAL_SYSTEM_PROFILE_ID,
    )
    profiles.register(
        Organization.DMTF, "System Virtualization", "1.0.0", document="DSP1042",
        central_classes=[(VIRT_NAMESPACE, "Virt_HostSystem")],
        references=[virtual_system, profiles.profile_registration],
        instance_id=SYSTEM_VIRTUALIZATION_PROFILE_ID,
    )


def _register(
    registry: ProviderRegistry,
    repository: Repository,
    hv: Hypervisor,
    generic_classes: Sequence[str],
    provider: Provider,
) -> None:
    classnames = [naming.classname(hv.prefix, generic) for generic in generic_classes]
    missing = [name for name in classnames if repository.find_class(VIRT_NAMESPACE, name) is None]
    if missing:
        raise ValueError(f"classes {missing} for {hv.uri} are not in the repository")
    registry.register(VIRT_NAMESPACE, classnames, provider)


# --- guest settings and the management service ---------------------------------------------------
# VSSD and resource settings (providers.settings), their associations
# (providers.settings_associations), the VirtualSystemManagementService and its
# capabilities (providers.vsms), with the host's links to the service and capabilities.

import functools  # noqa: E402

from providers.settings import (  # noqa: E402
    RESOURCE_KINDS,
    VSSD,
    ResourceAllocationSettingDataProvider,
    VirtualSystemSettingDataProvider,
)
from providers.settings_associations import (  # noqa: E402
    ElementSettingDataProvider,
    SettingsDefineStateProvider,
    VirtualSystemSettingDataComponentProvider,
)
from providers.system_associations import (  # noqa: E402
    SingletonLink,
    host_capabilities,
    hosted_service,
)
from providers.vsms import (  # noqa: E402
    MANAGEMENT_CAPABILITIES,
    MANAGEMENT_SERVICE,
    VirtualSystemManagementCapabilitiesProvider,
    VirtualSystemManagementServiceProvider,
    management_capabilities_path,
    management_service_path,
)

#: ``CIM_ElementCapabilities.Characteristics``: the host's capabilities are its defaults.
_DEFAULT_CHARACTERISTICS = {"Characteristics": [2]}

PROVIDER_FAMILIES.extend([
    ProviderFamily(VirtualSystemSettingDataProvider, (VSSD,)),
    *(ProviderFamily(functools.partial(ResourceAllocationSettingDataProvider, kind=kind),
                     (kind.value,)) for kind in RESOURCE_KINDS),
    ProviderFamily(VirtualSystemSettingDataComponentProvider,
                   ("VirtualSystemSettingDataComponent",)),
    ProviderFamily(SettingsDefineStateProvider, ("SettingsDefineState",)),
    ProviderFamily(ElementSettingDataProvider, ("ElementSettingData",)),
    ProviderFamily(VirtualSystemManagementServiceProvider, (MANAGEMENT_SERVICE,)),
    ProviderFamily(VirtualSystemManagementCapabilitiesProvider, (MANAGEMENT_CAPABILITIES,)),
])  # fmt: skip
ASSOCIATION_LINKS["HostedService"].append(
    hosted_service(MANAGEMENT_SERVICE, management_service_path)
)
ASSOCIATION_LINKS["ElementCapabilities"].extend([
    host_capabilities(MANAGEMENT_CAPABILITIES, management_capabilities_path,
                      _DEFAULT_CHARACTERISTICS),
    SingletonLink({"ManagedElement": (MANAGEMENT_SERVICE, management_service_path),
                   "Capabilities": (MANAGEMENT_CAPABILITIES, management_capabilities_path)}),
])  # fmt: skip
