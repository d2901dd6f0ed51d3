"""The interop namespace: how clients discover the server and its profiles.

:func:`register_interop` wires every interop provider into a
:class:`~virtcim.provider.ProviderRegistry`; the model's providers declare
their profiles in the :class:`ProfileRegistry` given to it, before or after.
"""

from __future__ import annotations

from collections.abc import Sequence

from virtcim import __version__
from virtcim.interop.objectmanager import (
    SUPPORTED_FUNCTIONAL_PROFILES,
    ObjectManagerProvider,
    ServerDescription,
)
from virtcim.interop.profiles import (
    PROFILE_REGISTRATION_ID,
    CentralClass,
    ElementConformsToProfileProvider,
    Profile,
    ProfileRegistry,
    ProfileView,
    ReferencedProfileProvider,
    RegisteredProfileProvider,
    profile_instance_id,
)
from virtcim.operations.pull import PullSettings
from virtcim.provider import ProviderRegistry
from virtcim.repository.schema import Repository
from virtcim.valuemaps import AuthenticationMechanism, FunctionalProfile, Organization

__all__ = [
    "PROFILE_REGISTRATION_ID",
    "SUPPORTED_FUNCTIONAL_PROFILES",
    "AuthenticationMechanism",
    "CentralClass",
    "FunctionalProfile",
    "Organization",
    "Profile",
    "ProfileRegistry",
    "ProfileView",
    "profile_instance_id",
    "register_interop",
    "register_profile_view",
]


def register_interop(
    registry: ProviderRegistry,
    repository: Repository,
    profiles: ProfileRegistry,
    *,
    host: str,
    auth_mechanisms: Sequence[AuthenticationMechanism],
    pull: PullSettings,
    version: str = __version__,
    functional_profiles: Sequence[FunctionalProfile] = SUPPORTED_FUNCTIONAL_PROFILES,
) -> None:
    """Register the interop providers.

    They serve, in ``profiles.interop_namespace``, the object manager, one
    ``CIM_Namespace`` per namespace of ``repository``, the CIM-XML
    communication mechanism (``auth_mechanisms`` and the ``pull`` limits as
    configured) and the registered profiles; ``CIM_ElementConformsToProfile``
    in every namespace, so a traversal can start at either end. ``host`` is
    the name of the system the server runs on. Raises ``ValueError`` when the
    interop namespace is not one of the repository's canonical names.
    """
    interop = profiles.interop_namespace
    if interop not in repository.namespaces:
        raise ValueError(f"interop namespace {interop!r} is not one of the repository's "
                         f"namespaces {repository.namespaces}")
    server = ServerDescription(
        host=host,
        version=version,
        interop_namespace=interop,
        namespaces=tuple(repository.namespaces),
        auth_mechanisms=tuple(auth_mechanisms),
        functional_profiles=tuple(functional_profiles),
        pull=pull,
    )
    registry.register(interop, ObjectManagerProvider.classnames, ObjectManagerProvider(server))
    registry.register(interop, ["CIM_RegisteredProfile"], RegisteredProfileProvider(profiles))
    registry.register(interop, ["CIM_ReferencedProfile"], ReferencedProfileProvider(profiles))
    conformance = ElementConformsToProfileProvider(profiles)
    for namespace in repository.namespaces:
        registry.register(namespace, ["CIM_ElementConformsToProfile"], conformance)


def register_profile_view(
    registry: ProviderRegistry,
    repository: Repository,
    profiles: ProfileRegistry,
    view: ProfileView,
) -> None:
    """Show ``profiles`` through ``view``: register its classes as views of the DMTF ones.

    Its registered profiles and referenced-profile links in the interop
    namespace, its conformance links in every namespace, as
    :func:`register_interop` does for the DMTF classes. Raises
    ``ValueError`` when one of the view's classes is missing from the
    repository or already has a provider.
    """
    interop = profiles.interop_namespace
    missing = [name for name in view.classnames() if repository.find_class(interop, name) is None]
    if missing:
        raise ValueError(f"profile view classes {missing} are not in the repository")
    profiles.add_view(view)
    registry.register_view(interop, [view.registered_profile], RegisteredProfileProvider(profiles))
    registry.register_view(interop, [view.referenced_profile], ReferencedProfileProvider(profiles))
    conformance = ElementConformsToProfileProvider(profiles)
    for namespace in repository.namespaces:
        registry.register_view(namespace, [view.conforms_to_profile], conformance)
