"""Registered profiles (DSP1033 Profile Registration 1.0.0): how clients find the model.

A client reads ``CIM_RegisteredProfile`` in the interop namespace to learn
which management profiles the server implements, then follows
``CIM_ElementConformsToProfile`` from a profile to its central instances
(pywbem's "central class methodology") and ``CIM_ReferencedProfile`` between
profiles (the "scoping class methodology" climbs it to the scoping profile).

Providers of the model declare their profiles at start-up in a
:class:`ProfileRegistry`; the providers here answer from it at request time,
finding central instances through the Cimom in whatever namespace they live:

.. code-block:: python

    profiles = ProfileRegistry("root/interop")
    vs = profiles.register(Organization.DMTF, "Virtual System", "1.0.0", document="DSP1057",
                           central_classes=[("root/virt", "Virt_ComputerSystem")])
    profiles.register(Organization.DMTF, "System Virtualization", "1.0.0", document="DSP1042",
                      central_classes=[("root/virt", "Virt_HostSystem")],
                      references=[vs, profiles.profile_registration])

InstanceIDs follow libvirt-cim (``CIM:DSP1042-SystemVirtualization-1.0.0``),
so that its clients, which look profiles up by InstanceID, keep working;
profiles whose libvirt-cim ID broke that pattern pass ``instance_id``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pywbem import (
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.provider import (
    AssociationProvider,
    InstanceProvider,
    MethodProvider,
    RequestContext,
    cim_method,
)

__all__ = [
    "PROFILE_REGISTRATION_ID",
    "CentralClass",
    "ElementConformsToProfileProvider",
    "Organization",
    "Profile",
    "ProfileRegistry",
    "ReferencedProfileProvider",
    "RegisteredProfileProvider",
    "profile_instance_id",
]

REGISTERED_PROFILE = "CIM_RegisteredProfile"
CONFORMANT_STANDARD = "ConformantStandard"
MANAGED_ELEMENT = "ManagedElement"


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


class AdvertiseType(enum.IntEnum):
    """``AdvertiseTypes``: there is no SLP agent, so profiles are not advertised."""

    NOT_ADVERTISED = 2


class SpecificationType(enum.IntEnum):
    PROFILE = 2


class CentralClass(NamedTuple):
    """A class whose instances conform to a profile, and the namespace they live in."""

    namespace: str
    classname: str


@dataclass(frozen=True)
class Profile:
    """One registered profile.

    ``references`` are the InstanceIDs of the profiles this one references
    (DMTF direction: in ``CIM_ReferencedProfile`` they are the Antecedent,
    this profile the Dependent).
    """

    instance_id: str
    organization: Organization
    name: str
    version: str
    central_classes: tuple[CentralClass, ...] = ()
    references: tuple[str, ...] = ()
    other_organization: str | None = None


def profile_instance_id(
    organization: Organization,
    name: str,
    version: str,
    document: str | None = None,
    other_organization: str | None = None,
) -> str:
    """The InstanceID libvirt-cim gave profiles: ``CIM:DSP1042-SystemVirtualization-1.0.0``.

    ``CIM`` stands for the DMTF; another organization is named by itself.
    ``document`` is the specification's number (``DSP1042``), when it has one.
    """
    if organization is Organization.DMTF:
        owner = "CIM"
    elif organization is Organization.OTHER:
        owner = other_organization or "Other"
    else:
        owner = organization.name
    local = "-".join(part for part in (document, name.replace(" ", ""), version) if part)
    return f"{owner}:{local}"


PROFILE_REGISTRATION_ID = profile_instance_id(
    Organization.DMTF, "Profile Registration", "1.0.0", "DSP1033")


class ProfileRegistry:
    """The profiles this server implements; filled at start-up, read by every request.

    ``interop_namespace`` is the canonical name of the namespace holding the
    ``CIM_RegisteredProfile`` instances (:func:`~virtcim.interop.register_interop`
    checks it against the repository).

    The registry starts with DSP1033 Profile Registration itself
    (:attr:`profile_registration`), whose central class is
    ``CIM_RegisteredProfile``: every registered profile conforms to it.
    """

    def __init__(self, interop_namespace: str = "root/interop") -> None:
        self.interop_namespace = interop_namespace
        self._lock = threading.Lock()
        # Replaced, never changed in place, so readers iterate without the lock.
        self._profiles: dict[str, Profile] = {}
        self.profile_registration = self.register(
            Organization.DMTF, "Profile Registration", "1.0.0", document="DSP1033",
            central_classes=[(interop_namespace, REGISTERED_PROFILE)],
        )

    def register(
        self,
        organization: Organization,
        name: str,
        version: str,
        *,
        central_classes: Iterable[tuple[str, str]] = (),
        references: Iterable[Profile] = (),
        document: str | None = None,
        other_organization: str | None = None,
        instance_id: str | None = None,
    ) -> Profile:
        """Declare a profile and return it.

        ``central_classes`` are ``(namespace, classname)`` pairs: the instances
        of each class (subclasses included) are the profile's central
        instances. ``references`` are profiles registered before, which this
        one references (the component profiles of an autonomous profile).
        ``instance_id`` defaults to :func:`profile_instance_id`. Raises
        ``ValueError`` for a duplicate InstanceID, an unregistered reference
        or an ``OTHER`` organization without its name.
        """
        if organization is Organization.OTHER and not other_organization:
            raise ValueError(f"profile {name!r}: organization Other needs other_organization")
        profile = Profile(
            instance_id=instance_id or profile_instance_id(
                organization, name, version, document, other_organization),
            organization=organization,
            name=name,
            version=version,
            central_classes=tuple(CentralClass(*pair) for pair in central_classes),
            references=tuple(ref.instance_id for ref in references),
            other_organization=other_organization,
        )
        with self._lock:
            if profile.instance_id in self._profiles:
                raise ValueError(f"profile {profile.instance_id!r} is already registered")
            unknown = [ref for ref in profile.references if ref not in self._profiles]
            if unknown:
                raise ValueError(f"profile {profile.instance_id!r} references unregistered "
                                 f"profiles {unknown}; register them first")
            self._profiles = {**self._profiles, profile.instance_id: profile}
        return profile

    def get(self, instance_id: str) -> Profile | None:
        return self._profiles.get(instance_id)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._profiles.values())

    def __len__(self) -> int:
        return len(self._profiles)

    def path(self, ctx: RequestContext, profile: Profile) -> CIMInstanceName:
        """The path of the profile's ``CIM_RegisteredProfile`` in the interop namespace."""
        return ctx.path(REGISTERED_PROFILE, namespace=self.interop_namespace,
                        InstanceID=profile.instance_id)

    def profile_at(self, ctx: RequestContext, path: CIMInstanceName) -> Profile | None:
        """The profile a ``CIM_RegisteredProfile`` path names, if it is one of ours."""
        if _namespace_of(ctx, path) != self.interop_namespace:
            return None
        if not ctx.repository.is_subclass(ctx.namespace, path.classname, REGISTERED_PROFILE):
            return None
        instance_id = path.keybindings.get("InstanceID")
        return self.get(instance_id) if isinstance(instance_id, str) else None


def central_instance_names(ctx: RequestContext, profile: Profile) -> Iterator[CIMInstanceName]:
    """The paths of the profile's central instances, from their own providers."""
    for central in profile.central_classes:
        yield from ctx.cimom.enumerate_instance_names(ctx, central.namespace, central.classname)


class RegisteredProfileProvider(InstanceProvider, MethodProvider):
    """``CIM_RegisteredProfile``: one instance per registered profile (DSP1033)."""

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        return [self._instance(ctx, classname, profile) for profile in self.profiles]

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        return self._instance(ctx, path.classname, self._profile(ctx, path))

    @cim_method
    def GetCentralInstances(
        self, ctx: RequestContext, target: CIMInstanceName
    ) -> tuple[int, dict[str, list[CIMInstanceName]]]:
        """DSP1033 1.1's shortcut to the central instances, for clients that try it first."""
        profile = self._profile(ctx, target)
        return 0, {"CentralInstances": list(central_instance_names(ctx, profile))}

    def _profile(self, ctx: RequestContext, path: CIMInstanceName) -> Profile:
        profile = self.profiles.profile_at(ctx, path)
        if profile is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no registered profile {path}")
        return profile

    def _instance(self, ctx: RequestContext, classname: str, profile: Profile) -> CIMInstance:
        values = {
            "InstanceID": profile.instance_id,
            "RegisteredOrganization": profile.organization,
            "RegisteredName": profile.name,
            "RegisteredVersion": profile.version,
            "SpecificationType": SpecificationType.PROFILE,
            "AdvertiseTypes": [AdvertiseType.NOT_ADVERTISED],
            "ElementName": profile.name,
        }
        if profile.other_organization:
            values["OtherRegisteredOrganization"] = profile.other_organization
        return ctx.repository.build_instance(self.profiles.interop_namespace, classname, values)


class ReferencedProfileProvider(AssociationProvider):
    """``CIM_ReferencedProfile``: Antecedent the referenced profile, Dependent the referencing one.

    This is the DMTF direction (SNIA's SMI-S uses the opposite); pywbem's
    ``reference_direction='dmtf'`` expects it.
    """

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        links = []
        for referencing in self.profiles:
            for referenced_id in referencing.references:
                referenced = self.profiles.get(referenced_id)
                if referenced is not None:
                    links.append(ctx.instance(
                        classname,
                        Antecedent=self.profiles.path(ctx, referenced),
                        Dependent=self.profiles.path(ctx, referencing),
                    ))
        return links


class ElementConformsToProfileProvider(AssociationProvider):
    """``CIM_ElementConformsToProfile``: each profile to each of its central instances.

    The links cross namespaces (the profile in the interop namespace, the
    element in its own), so this provider is registered in every namespace:
    a traversal is answered by the provider of the request's namespace. In
    the interop namespace it serves every link; elsewhere the links whose
    element lives there.
    """

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        everything = ctx.namespace == self.profiles.interop_namespace
        for profile in self.profiles:
            for element in central_instance_names(ctx, profile):
                if everything or _namespace_of(ctx, element) == ctx.namespace:
                    yield self._link(ctx, classname, profile, element)

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        """From a profile to its central instances, from an element to its profiles.

        A registered profile can be at both ends: every profile is a central
        instance of Profile Registration.
        """
        standard = None
        if _may_be(role, CONFORMANT_STANDARD):
            standard = self.profiles.profile_at(ctx, source)
            if standard is not None:
                for element in central_instance_names(ctx, standard):
                    yield self._link(ctx, classname, standard, element)
        if _may_be(role, MANAGED_ELEMENT):
            for profile in self._profiles_of(ctx, source):
                # Profile Registration conforms to itself: that link was yielded above.
                if profile is not standard:
                    yield self._link(ctx, classname, profile, source)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        element = path.keybindings.get(MANAGED_ELEMENT)
        standard = path.keybindings.get(CONFORMANT_STANDARD)
        if isinstance(element, CIMInstanceName) and isinstance(standard, CIMInstanceName):
            wanted = self.profiles.profile_at(ctx, standard)
            for profile in self._profiles_of(ctx, element):
                if profile is wanted:
                    return self._link(ctx, path.classname, profile, element)
        raise CIMError(CIM_ERR_NOT_FOUND, f"no {path.classname} {path} in {ctx.namespace}")

    def _profiles_of(self, ctx: RequestContext, element: CIMInstanceName) -> list[Profile]:
        """The profiles ``element`` is a central instance of; none if it does not exist."""
        namespace = _namespace_of(ctx, element)
        if namespace is None:
            return []
        found = [
            profile for profile in self.profiles
            if any(_canonical(ctx, central.namespace) == namespace
                   and ctx.repository.is_subclass(namespace, element.classname, central.classname)
                   for central in profile.central_classes)
        ]
        if found and not _exists(ctx, element, namespace):
            return []
        return found

    def _link(self, ctx: RequestContext, classname: str, profile: Profile,
              element: CIMInstanceName) -> CIMInstance:
        # The same link whichever end it was found from: namespace set, no host.
        element = CIMInstanceName(element.classname, element.keybindings,
                                  namespace=_namespace_of(ctx, element))
        return ctx.instance(classname, ConformantStandard=self.profiles.path(ctx, profile),
                            ManagedElement=element)


def _may_be(role: str | None, name: str) -> bool:
    return role is None or role.lower() == name.lower()


def _canonical(ctx: RequestContext, namespace: str) -> str | None:
    """The canonical spelling of ``namespace``; ``None`` for one the server lacks."""
    try:
        return ctx.repository.canonical_namespace(namespace)
    except CIMError as exc:
        if exc.status_code != CIM_ERR_INVALID_NAMESPACE:
            raise
        return None


def _namespace_of(ctx: RequestContext, path: CIMInstanceName) -> str | None:
    """Where ``path`` lives: its own namespace, else the request's."""
    return _canonical(ctx, path.namespace or ctx.namespace)


def _exists(ctx: RequestContext, path: CIMInstanceName, namespace: str) -> bool:
    located = CIMInstanceName(path.classname, path.keybindings, namespace=namespace)
    try:
        ctx.cimom.get_instance(ctx, located)
    except CIMError as exc:
        if exc.status_code != CIM_ERR_NOT_FOUND:
            raise
        return False
    return True
