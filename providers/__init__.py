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

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

from providers.capabilities import (
    POOL_CAPABILITIES,
    POOL_SETTING_CLASSES,
    SETTING_TEMPLATES,
    AllocationCapabilitiesProvider,
    PoolSettingsProvider,
    SettingsWithTemplatesProvider,
)
from providers.classes import BASE_PREFIX, VIRT_NAMESPACE
from providers.computer_system import (
    ComputerSystemProvider,
    EnabledLogicalElementCapabilitiesProvider,
)
from providers.console import (
    AFFECTED_ELEMENTS,
    GUEST_ACCESS_POINTS,
    HOSTED_ACCESS_POINTS,
    SERVICE_ACCESS_POINTS,
    ConsoleRedirectionServiceCapabilitiesProvider,
    ConsoleRedirectionServiceProvider,
    KVMRedirectionSAPProvider,
)
from providers.devices import DEVICE_PROVIDERS
from providers.filter_associations import (
    FILTER_ENTRIES,
    HOSTED_FILTERS,
    AppliedFilterListProvider,
    NestedFilterListProvider,
)
from providers.filters import ENTRY_CLASSES, FilterEntryProvider, FilterListProvider
from providers.host import HostSystemProvider
from providers.links import (
    LinkProvider,
    LinkSource,
    SingletonLink,
    host_capabilities,
    hosted_service,
)
from providers.migration import (
    MIGRATION_DEFAULTS,
    VirtualSystemMigrationCapabilitiesProvider,
    VirtualSystemMigrationServiceProvider,
    VirtualSystemMigrationSettingDataProvider,
)
from providers.paths import (
    ALLOCATION_CAPABILITIES,
    CONFIGURATION_CAPABILITIES,
    CONFIGURATION_SERVICE,
    CONSOLE_CAPABILITIES,
    CONSOLE_SERVICE,
    MANAGEMENT_CAPABILITIES,
    MANAGEMENT_SERVICE,
    MIGRATION_CAPABILITIES,
    MIGRATION_SERVICE,
    MIGRATION_SETTING_DATA,
    REDIRECTION_SAP,
    SNAPSHOT_CAPABILITIES,
    SNAPSHOT_SERVICE,
    SNAPSHOT_SETTING_DATA,
    VSSD,
    configuration_capabilities_path,
    configuration_service_path,
    console_capabilities_path,
    console_service_path,
    management_capabilities_path,
    management_service_path,
    migration_capabilities_path,
    migration_service_path,
    snapshot_capabilities_path,
    snapshot_service_path,
)
from providers.pool_associations import (
    HOSTED_POOLS,
    POOL_DEVICES,
    POOL_HIERARCHY,
    POOL_SETTINGS,
    PoolLinkProvider,
)
from providers.pools import PoolKind, ResourcePoolProvider
from providers.pools import register_profiles as register_resource_profiles
from providers.rpcs import (
    ResourcePoolConfigurationCapabilitiesProvider,
    ResourcePoolConfigurationServiceProvider,
)
from providers.settings import RESOURCE_KINDS, VirtualSystemSettingDataProvider
from providers.settings_associations import (
    COMPONENT_KINDS,
    GUEST_SETTING_DATA,
    ElementSettingDataProvider,
    SettingsDefineStateProvider,
    VirtualSystemSettingDataComponentProvider,
)
from providers.snapshot import (
    VirtualSystemSnapshotServiceCapabilitiesProvider,
    VirtualSystemSnapshotServiceProvider,
)
from providers.snapshot_settings import (
    CURRENT_SNAPSHOTS,
    GUEST_SNAPSHOTS,
    SNAPSHOT_TREE,
    SnapshotSettingDataProvider,
)
from providers.system_associations import (
    GUEST_CAPABILITIES,
    GUEST_DEVICES,
    HOSTED_GUESTS,
)
from providers.virt import Hypervisor, naming
from providers.vsms import (
    VirtualSystemManagementCapabilitiesProvider,
    VirtualSystemManagementServiceProvider,
)
from virtcim.interop import (
    CentralClass,
    Organization,
    ProfileRegistry,
    ProfileView,
    register_profile_view,
)
from virtcim.provider import Provider, ProviderRegistry
from virtcim.repository.schema import Repository

__all__ = [
    "ASSOCIATION_LINKS",
    "PROVIDER_FAMILIES",
    "SYSTEM_VIRTUALIZATION_PROFILE_ID",
    "VIRTUAL_SYSTEM_PROFILE_ID",
    "ProviderFamily",
    "profile_view",
    "register_profiles",
    "register_providers",
]

#: libvirt-cim's InstanceIDs of the two profiles, kept for its clients.
SYSTEM_VIRTUALIZATION_PROFILE_ID = "CIM:DSP1042-SystemVirtualization-1.0.0"
VIRTUAL_SYSTEM_PROFILE_ID = "CIM:DSP1057-VirtualSystem-1.0.0a"
VIRTUAL_SYSTEM_MIGRATION_PROFILE_ID = "CIM:DSP1081-VirtualSystemMigration-0.8.1"
KVM_REDIRECTION_PROFILE_ID = "CIM:DSP1076-KVMRedirection-1.0.0"
#: The InstanceIDs of DSP1041 Resource Allocation start so, one per pool kind.
_RESOURCE_ALLOCATION_PROFILE_IDS = "CIM:DSP1041-ResourceAllocation-1.1.0c"

#: What libvirt-cim's clients read in ``<Prefix>_RegisteredProfile`` where it differs from
#: the DMTF registration ``CIM_RegisteredProfile`` shows: its name for DSP1057 and the draft
#: versions it implemented (RegisteredVersion by the InstanceID's start).
_LIBVIRT_CIM_NAMES = {VIRTUAL_SYSTEM_PROFILE_ID: "Virtual System Profile"}
_LIBVIRT_CIM_VERSIONS = {
    VIRTUAL_SYSTEM_PROFILE_ID: "1.0.0a",
    "CIM:DSP1043-AllocationCapabilities-1.0.0a": "1.0.0a",
    VIRTUAL_SYSTEM_MIGRATION_PROFILE_ID: "0.8.1",
    _RESOURCE_ALLOCATION_PROFILE_IDS: "1.1.0c",
}

#: The classes libvirt-cim linked to a profile in place of DMTF's central class
#: (generic names): DSP1076's access points, its console redirection service.
_LIBVIRT_CIM_CENTRALS = {REDIRECTION_SAP: CONSOLE_SERVICE}

#: ``CIM_ElementCapabilities.Characteristics``: the host's capabilities are its defaults.
_DEFAULT_CHARACTERISTICS = {"Characteristics": [2]}


class ProviderFamily(NamedTuple):
    """A provider class and the generic classes one of its instances serves."""

    factory: Callable[[Hypervisor], Provider]
    generic_classes: tuple[str, ...]


PROVIDER_FAMILIES: list[ProviderFamily] = [
    # The host and its guests (DSP1042, DSP1057)
    ProviderFamily(HostSystemProvider, ("HostSystem",)),
    ProviderFamily(ComputerSystemProvider, ("ComputerSystem",)),
    ProviderFamily(EnabledLogicalElementCapabilitiesProvider,
                   ("EnabledLogicalElementCapabilities",)),
    *(ProviderFamily(device, (device.generic_class,)) for device in DEVICE_PROVIDERS),
    # Guest settings; resource settings also answer for the templates that
    # SettingsDefineCapabilities links to (DSP1041, DSP1043)
    ProviderFamily(VirtualSystemSettingDataProvider, (VSSD,)),
    ProviderFamily(SettingsWithTemplatesProvider, tuple(kind.value for kind in RESOURCE_KINDS)),
    ProviderFamily(VirtualSystemSettingDataComponentProvider, tuple(COMPONENT_KINDS)),
    ProviderFamily(SettingsDefineStateProvider, ("SettingsDefineState",)),
    ProviderFamily(ElementSettingDataProvider, ("ElementSettingData", GUEST_SETTING_DATA)),
    ProviderFamily(VirtualSystemManagementServiceProvider, (MANAGEMENT_SERVICE,)),
    ProviderFamily(VirtualSystemManagementCapabilitiesProvider, (MANAGEMENT_CAPABILITIES,)),
    # Moving guests to other hosts (DSP1081)
    ProviderFamily(VirtualSystemMigrationServiceProvider, (MIGRATION_SERVICE,)),
    ProviderFamily(VirtualSystemMigrationCapabilitiesProvider, (MIGRATION_CAPABILITIES,)),
    ProviderFamily(VirtualSystemMigrationSettingDataProvider, (MIGRATION_SETTING_DATA,)),
    # Snapshots: libvirt's, and a guest's memory state kept while it is off (managed save)
    ProviderFamily(VirtualSystemSnapshotServiceProvider, (SNAPSHOT_SERVICE,)),
    ProviderFamily(VirtualSystemSnapshotServiceCapabilitiesProvider, (SNAPSHOT_CAPABILITIES,)),
    ProviderFamily(SnapshotSettingDataProvider, (SNAPSHOT_SETTING_DATA,)),
    # The guests' graphical consoles (DSP1076)
    ProviderFamily(ConsoleRedirectionServiceProvider, (CONSOLE_SERVICE,)),
    ProviderFamily(ConsoleRedirectionServiceCapabilitiesProvider, (CONSOLE_CAPABILITIES,)),
    ProviderFamily(KVMRedirectionSAPProvider, (REDIRECTION_SAP,)),
    # Resource pools, what can be allocated from them, and their management
    *(ProviderFamily(functools.partial(ResourcePoolProvider, kind=kind), (kind.generic_class,))
      for kind in PoolKind),
    ProviderFamily(AllocationCapabilitiesProvider, (ALLOCATION_CAPABILITIES,)),
    ProviderFamily(PoolSettingsProvider, tuple(POOL_SETTING_CLASSES)),
    ProviderFamily(lambda hv: PoolLinkProvider(hv, [POOL_DEVICES, POOL_HIERARCHY]),
                   ("ElementAllocatedFromPool",)),
    ProviderFamily(lambda hv: PoolLinkProvider(hv, [POOL_SETTINGS]),
                   ("ResourceAllocationFromPool",)),
    ProviderFamily(lambda hv: PoolLinkProvider(hv, [SETTING_TEMPLATES, MIGRATION_DEFAULTS]),
                   ("SettingsDefineCapabilities",)),
    ProviderFamily(ResourcePoolConfigurationServiceProvider, (CONFIGURATION_SERVICE,)),
    ProviderFamily(ResourcePoolConfigurationCapabilitiesProvider, (CONFIGURATION_CAPABILITIES,)),
    # libvirt's network filters, their rules, and the interfaces that apply them
    ProviderFamily(FilterListProvider, ("FilterList",)),
    ProviderFamily(FilterEntryProvider, ENTRY_CLASSES),
    ProviderFamily(NestedFilterListProvider, ("NestedFilterList",)),
    ProviderFamily(AppliedFilterListProvider, ("AppliedFilterList",)),
]  # fmt: skip

#: Association generic class -> the kinds of links its provider serves.
ASSOCIATION_LINKS: dict[str, list[LinkSource]] = {
    "HostedDependency": [HOSTED_GUESTS],
    "SystemDevice": [GUEST_DEVICES],
    "HostedResourcePool": [HOSTED_POOLS],
    "HostedService": [
        hosted_service(MANAGEMENT_SERVICE, management_service_path),
        hosted_service(CONFIGURATION_SERVICE, configuration_service_path),
        hosted_service(MIGRATION_SERVICE, migration_service_path),
        hosted_service(CONSOLE_SERVICE, console_service_path),
        hosted_service(SNAPSHOT_SERVICE, snapshot_service_path),
    ],
    "ElementCapabilities": [
        GUEST_CAPABILITIES,
        POOL_CAPABILITIES,
        host_capabilities(MANAGEMENT_CAPABILITIES, management_capabilities_path,
                          _DEFAULT_CHARACTERISTICS),
        SingletonLink({"ManagedElement": (MANAGEMENT_SERVICE, management_service_path),
                       "Capabilities": (MANAGEMENT_CAPABILITIES, management_capabilities_path)}),
        SingletonLink({"ManagedElement": (CONFIGURATION_SERVICE, configuration_service_path),
                       "Capabilities": (CONFIGURATION_CAPABILITIES,
                                        configuration_capabilities_path)}),
        host_capabilities(MIGRATION_CAPABILITIES, migration_capabilities_path,
                          _DEFAULT_CHARACTERISTICS),
        SingletonLink({"ManagedElement": (MIGRATION_SERVICE, migration_service_path),
                       "Capabilities": (MIGRATION_CAPABILITIES, migration_capabilities_path)}),
        host_capabilities(CONSOLE_CAPABILITIES, console_capabilities_path,
                          _DEFAULT_CHARACTERISTICS),
        SingletonLink({"ManagedElement": (CONSOLE_SERVICE, console_service_path),
                       "Capabilities": (CONSOLE_CAPABILITIES, console_capabilities_path)}),
        # Not from the host: libvirt-cim's clients take every capabilities the host
        # has for one they know.
        SingletonLink({"ManagedElement": (SNAPSHOT_SERVICE, snapshot_service_path),
                       "Capabilities": (SNAPSHOT_CAPABILITIES, snapshot_capabilities_path)}),
    ],
    "HostedAccessPoint": [HOSTED_ACCESS_POINTS],
    "ServiceAccessBySAP": [SERVICE_ACCESS_POINTS],
    "SAPAvailableForElement": [GUEST_ACCESS_POINTS],
    "ServiceAffectsElement": [AFFECTED_ELEMENTS],
    "EntriesInFilterList": [FILTER_ENTRIES],
    "HostedFilterList": [HOSTED_FILTERS],
    "SnapshotOfVirtualSystem": [GUEST_SNAPSHOTS],
    "MostCurrentSnapshotInBranch": [CURRENT_SNAPSHOTS],
    "ParentChildSettingData": [SNAPSHOT_TREE],
}  # fmt: skip


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
        for prefix in dict.fromkeys(hv.prefix for hv in hypervisors):
            register_profile_view(registry, repository, profiles, profile_view(profiles, prefix))


def profile_view(profiles: ProfileRegistry, prefix: str) -> ProfileView:
    """The profiles as libvirt-cim showed them to the clients of one prefix.

    ``KVM_RegisteredProfile`` lists the profiles whose central instances are
    KVM's (every profile but DSP1033 Profile Registration), with libvirt-cim's
    names and versions; ``KVM_ElementConformsToProfile`` links them to KVM's
    guests, host, pools and capabilities; ``KVM_ReferencedProfile`` links them
    to one another.
    """

    def element_class(central: CentralClass) -> CentralClass | None:
        generic = naming.generic_name(BASE_PREFIX, central.classname)
        if generic is None:
            return None
        generic = _LIBVIRT_CIM_CENTRALS.get(generic, generic)
        return CentralClass(central.namespace, naming.classname(prefix, generic))

    values: dict[str, dict[str, str]] = {}
    for profile in profiles:
        for start, version in _LIBVIRT_CIM_VERSIONS.items():
            if profile.instance_id.startswith(start) and version != profile.version:
                values.setdefault(profile.instance_id, {})["RegisteredVersion"] = version
        name = _LIBVIRT_CIM_NAMES.get(profile.instance_id)
        if name is not None and name != profile.name:
            values.setdefault(profile.instance_id, {})["RegisteredName"] = name
    return ProfileView(
        registered_profile=naming.classname(prefix, "RegisteredProfile"),
        conforms_to_profile=naming.classname(prefix, "ElementConformsToProfile"),
        referenced_profile=naming.classname(prefix, "ReferencedProfile"),
        element_class=element_class,
        values=values,
    )


def register_profiles(profiles: ProfileRegistry) -> None:
    """The component profiles first, then DSP1042 System Virtualization, which references them.

    Components: DSP1057 Virtual System (central: the guests), DSP1081 Virtual
    System Migration (central: the migration service), DSP1076 KVM Redirection
    (central: the guests' consoles; for libvirt-cim's clients, the console
    redirection service) and the resource profiles
    (:func:`providers.pools.register_profiles`).
    """
    resource_profiles = register_resource_profiles(profiles)
    virtual_system = profiles.register(
        Organization.DMTF, "Virtual System", "1.0.0", document="DSP1057",
        central_classes=[(VIRT_NAMESPACE, "Virt_ComputerSystem")],
        instance_id=VIRTUAL_SYSTEM_PROFILE_ID,
    )
    migration = profiles.register(
        Organization.DMTF, "Virtual System Migration", "1.0.0", document="DSP1081",
        central_classes=[(VIRT_NAMESPACE, f"Virt_{MIGRATION_SERVICE}")],
        instance_id=VIRTUAL_SYSTEM_MIGRATION_PROFILE_ID,
    )
    consoles = profiles.register(
        Organization.DMTF, "KVM Redirection", "1.0.0", document="DSP1076",
        central_classes=[(VIRT_NAMESPACE, f"Virt_{REDIRECTION_SAP}")],
        instance_id=KVM_REDIRECTION_PROFILE_ID,
    )
    profiles.register(
        Organization.DMTF, "System Virtualization", "1.0.0", document="DSP1042",
        central_classes=[(VIRT_NAMESPACE, "Virt_HostSystem")],
        references=[virtual_system, migration, consoles, *resource_profiles,
                    profiles.profile_registration],
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
