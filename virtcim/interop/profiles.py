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

A :class:`ProfileView` shows the same profiles under a family of subclasses
(libvirt-cim's ``KVM_RegisteredProfile``, ``KVM_ElementConformsToProfile``,
``KVM_ReferencedProfile``), with the values its clients expect, linking only
its own kind of central instances. The view classes are registered as views
(:meth:`~virtcim.provider.ProviderRegistry.register_view`): enumerating
``CIM_RegisteredProfile`` lists each profile once, as ``CIM_RegisteredProfile``,
and a traversal through ``CIM_ElementConformsToProfile`` or
``CIM_ReferencedProfile`` reaches the DMTF forms only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
from virtcim.valuemaps import AdvertiseType, Organization, SpecificationType

__all__ = [
    "PROFILE_REGISTRATION_ID",
    "CentralClass",
    "ElementConformsToProfileProvider",
    "Organization",
    "Profile",
    "ProfileRegistry",
    "ProfileView",
    "ReferencedProfileProvider",
    "RegisteredProfileProvider",
    "profile_instance_id",
]

REGISTERED_PROFILE = "CIM_RegisteredProfile"
#: What a client that names a profile that is not there reads (libvirt-cim's words, which
#: its clients look for).
NO_SUCH_INSTANCE = "No such instance"
CONFORMANT_STANDARD = "ConformantStandard"
MANAGED_ELEMENT = "ManagedElement"
ANTECEDENT = "Antecedent"
DEPENDENT = "Dependent"





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


@dataclass(frozen=True, eq=False)
class ProfileView:
    """The registered profiles as one family of subclasses shows them.

    ``registered_profile``, ``conforms_to_profile`` and ``referenced_profile``
    are the view's subclasses of ``CIM_RegisteredProfile``,
    ``CIM_ElementConformsToProfile`` and ``CIM_ReferencedProfile``.
    ``element_class`` gives, for a profile's central class, the class of the
    central instances the view links (``None``: none); a profile is in the
    view when one of its central classes has one. ``values`` are the
    properties the view shows instead of the registered ones, by InstanceID
    (``RegisteredName``, ``RegisteredVersion``).
    """

    registered_profile: str
    conforms_to_profile: str
    referenced_profile: str
    element_class: Callable[[CentralClass], CentralClass | None]
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def central_classes(self, profile: Profile) -> list[CentralClass]:
        """The classes whose instances the view links to ``profile``."""
        return [local for local in map(self.element_class, profile.central_classes)
                if local is not None]

    def classnames(self) -> tuple[str, str, str]:
        return self.registered_profile, self.conforms_to_profile, self.referenced_profile


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
        self._views: dict[str, ProfileView] = {}
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

    def add_view(self, view: ProfileView) -> None:
        """Show the profiles through ``view`` too; ``ValueError`` if one of its classes has one."""
        with self._lock:
            taken = [name for name in view.classnames() if name.lower() in self._views]
            if taken:
                raise ValueError(f"classes {taken} already show a profile view")
            self._views = {**self._views, **{name.lower(): view for name in view.classnames()}}

    def view_of(self, classname: str) -> ProfileView | None:
        """The view ``classname`` is one of the classes of; ``None`` for the DMTF classes."""
        return self._views.get(classname.lower())

    def shown(self, view: ProfileView | None) -> list[Profile]:
        """The profiles ``view`` shows (``None``: all of them)."""
        if view is None:
            return list(self)
        return [profile for profile in self if view.central_classes(profile)]

    def path(self, ctx: RequestContext, profile: Profile,
             view: ProfileView | None = None) -> CIMInstanceName:
        """The path of the profile's instance in the interop namespace (as ``view`` shows it)."""
        classname = view.registered_profile if view is not None else REGISTERED_PROFILE
        return ctx.path(classname, namespace=self.interop_namespace,
                        InstanceID=profile.instance_id)

    def profile_at(self, ctx: RequestContext, path: CIMInstanceName,
                   view: ProfileView | None = None) -> Profile | None:
        """The profile a registered-profile path of ``view`` names, if it is one of ours.

        Without a view, the path must be of ``CIM_RegisteredProfile`` or a
        subclass that is no view's; with one, of the view's class, naming a
        profile the view shows.
        """
        if _namespace_of(ctx, path) != self.interop_namespace:
            return None
        if view is None:
            if self.view_of(path.classname) is not None or not ctx.repository.is_subclass(
                    ctx.namespace, path.classname, REGISTERED_PROFILE):
                return None
        elif path.classname.lower() != view.registered_profile.lower():
            return None
        instance_id = path.keybindings.get("InstanceID")
        profile = self.get(instance_id) if isinstance(instance_id, str) else None
        if profile is not None and view is not None and not view.central_classes(profile):
            return None
        return profile


def central_instance_names(ctx: RequestContext, profile: Profile,
                           view: ProfileView | None = None) -> Iterator[CIMInstanceName]:
    """The paths of the profile's central instances (those ``view`` links), from their providers."""
    centrals = profile.central_classes if view is None else view.central_classes(profile)
    for central in centrals:
        yield from ctx.cimom.enumerate_instance_names(ctx, central.namespace, central.classname)


class RegisteredProfileProvider(InstanceProvider, MethodProvider):
    """``CIM_RegisteredProfile``: one instance per registered profile (DSP1033).

    Registered for the classes of the profile views too, each showing the
    profiles of its view with the view's values.
    """

    identifier = ("InstanceID", "InstanceID")

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        view = self.profiles.view_of(classname)
        return [self._instance(ctx, classname, profile, view)
                for profile in self.profiles.shown(view)]

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        view = self.profiles.view_of(path.classname)
        return self._instance(ctx, path.classname, self._profile(ctx, path, view), view)

    @cim_method
    def GetCentralInstances(
        self, ctx: RequestContext, target: CIMInstanceName
    ) -> tuple[int, dict[str, list[CIMInstanceName]]]:
        """DSP1033 1.1's shortcut to the central instances, for clients that try it first."""
        view = self.profiles.view_of(target.classname)
        profile = self._profile(ctx, target, view)
        return 0, {"CentralInstances": list(central_instance_names(ctx, profile, view))}

    def _profile(self, ctx: RequestContext, path: CIMInstanceName,
                 view: ProfileView | None) -> Profile:
        profile = self.profiles.profile_at(ctx, path, view)
        if profile is None:
            raise CIMError(CIM_ERR_NOT_FOUND,
                           f"{NO_SUCH_INSTANCE}: no registered profile {path}")
        return profile

    def _instance(self, ctx: RequestContext, classname: str, profile: Profile,
                  view: ProfileView | None) -> CIMInstance:
        values: dict[str, Any] = {
            "InstanceID": profile.instance_id,
            "RegisteredOrganization": profile.organization,
            "RegisteredName": profile.name,
            "RegisteredVersion": profile.version,
            "SpecificationType": SpecificationType.PROFILE,
            "AdvertiseTypes": [AdvertiseType.NOT_ADVERTISED],
        }
        if view is not None:
            values.update(view.values.get(profile.instance_id, {}))
        values["ElementName"] = values["RegisteredName"]
        if profile.other_organization:
            values["OtherRegisteredOrganization"] = profile.other_organization
        return ctx.repository.build_instance(self.profiles.interop_namespace, classname, values)


class ReferencedProfileProvider(AssociationProvider):
    """``CIM_ReferencedProfile``: Antecedent the referenced profile, Dependent the referencing one.

    This is the DMTF direction (SNIA's SMI-S uses the opposite); pywbem's
    ``reference_direction='dmtf'`` expects it. A view's class links the
    profiles the view shows, in the same direction.
    """

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        view = self.profiles.view_of(classname)
        return [self._link(ctx, classname, view, referenced, referencing)
                for referenced, referencing in self._pairs(view)]

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        """The links of the profile ``source`` names, whatever other keys the path carries."""
        view = self.profiles.view_of(classname)
        profile = self.profiles.profile_at(ctx, source, view)
        if profile is None:
            return
        for referenced, referencing in self._pairs(view):
            if ((referenced is profile and _may_be(role, ANTECEDENT))
                    or (referencing is profile and _may_be(role, DEPENDENT))):
                yield self._link(ctx, classname, view, referenced, referencing)

    def _pairs(self, view: ProfileView | None) -> Iterator[tuple[Profile, Profile]]:
        """(referenced, referencing) for every reference between profiles ``view`` shows."""
        shown = self.profiles.shown(view)
        for referencing in shown:
            for referenced_id in referencing.references:
                referenced = self.profiles.get(referenced_id)
                if referenced is not None and referenced in shown:
                    yield referenced, referencing

    def _link(self, ctx: RequestContext, classname: str, view: ProfileView | None,
              referenced: Profile, referencing: Profile) -> CIMInstance:
        return ctx.instance(classname, Antecedent=self.profiles.path(ctx, referenced, view),
                            Dependent=self.profiles.path(ctx, referencing, view))


class ElementConformsToProfileProvider(AssociationProvider):
    """``CIM_ElementConformsToProfile``: each profile to each of its central instances.

    The links cross namespaces (the profile in the interop namespace, the
    element in its own), so this provider is registered in every namespace:
    a traversal is answered by the provider of the request's namespace. In
    the interop namespace it serves every link; elsewhere the links whose
    element lives there. A view's class links the view's profiles to the
    central instances the view names.
    """

    def __init__(self, profiles: ProfileRegistry) -> None:
        self.profiles = profiles

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterator[CIMInstance]:
        view = self.profiles.view_of(classname)
        everything = ctx.namespace == self.profiles.interop_namespace
        for profile in self.profiles.shown(view):
            for element in central_instance_names(ctx, profile, view):
                if everything or _namespace_of(ctx, element) == ctx.namespace:
                    yield self._link(ctx, classname, view, profile, element)

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterator[CIMInstance]:
        """From a profile to its central instances, from an element to its profiles.

        A registered profile can be at both ends: every profile is a central
        instance of Profile Registration.
        """
        view = self.profiles.view_of(classname)
        standard = None
        if _may_be(role, CONFORMANT_STANDARD):
            standard = self.profiles.profile_at(ctx, source, view)
            if standard is not None:
                for element in central_instance_names(ctx, standard, view):
                    yield self._link(ctx, classname, view, standard, element)
        if _may_be(role, MANAGED_ELEMENT):
            for profile in self._profiles_of(ctx, source, view):
                # Profile Registration conforms to itself: that link was yielded above.
                if profile is not standard:
                    yield self._link(ctx, classname, view, profile, source)

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        view = self.profiles.view_of(path.classname)
        element = path.keybindings.get(MANAGED_ELEMENT)
        standard = path.keybindings.get(CONFORMANT_STANDARD)
        if isinstance(element, CIMInstanceName) and isinstance(standard, CIMInstanceName):
            wanted = self.profiles.profile_at(ctx, standard, view)
            for profile in self._profiles_of(ctx, element, view):
                if profile is wanted:
                    return self._link(ctx, path.classname, view, profile, element)
        raise CIMError(CIM_ERR_NOT_FOUND,
                       f"{NO_SUCH_INSTANCE}: no {path.classname} {path} in {ctx.namespace}")

    def _profiles_of(self, ctx: RequestContext, element: CIMInstanceName,
                     view: ProfileView | None) -> list[Profile]:
        """The profiles ``element`` is a central instance of; none if it does not exist.

        The instances of a view's classes conform to nothing: they show
        profiles that are there as ``CIM_RegisteredProfile`` already.
        """
        namespace = _namespace_of(ctx, element)
        if namespace is None or self.profiles.view_of(element.classname) is not None:
            return []
        found = [
            profile for profile in self.profiles.shown(view)
            if any(_canonical(ctx, central.namespace) == namespace
                   and ctx.repository.is_subclass(namespace, element.classname, central.classname)
                   for central in (profile.central_classes if view is None
                                   else view.central_classes(profile)))
        ]
        if found and not _exists(ctx, element, namespace):
            return []
        return found

    def _link(self, ctx: RequestContext, classname: str, view: ProfileView | None,
              profile: Profile, element: CIMInstanceName) -> CIMInstance:
        # The same link whichever end it was found from: namespace set, no host.
        element = CIMInstanceName(element.classname, element.keybindings,
                                  namespace=_namespace_of(ctx, element))
        return ctx.instance(classname, ConformantStandard=self.profiles.path(ctx, profile, view),
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
