"""The server describing itself: its object manager, namespaces and protocol.

Clients learn what they talk to from the interop namespace: pywbem and
pywbemcli read the brand and version from the one ``CIM_ObjectManager``
(``ElementName``, and the version after the word "version" in
``Description``), the namespaces from the ``Name`` keys of ``CIM_Namespace``,
and what the protocol offers from ``CIM_CIMXMLCommunicationMechanism``. These
classes are deprecated in favour of DSP1092's ``CIM_WBEMServer`` family, but
the clients still require them, so they are what this server answers.

Everything here is fixed at start-up and must stay truthful: a functional
profile is listed only when the operations layer implements all of it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pywbem import (
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from virtcim.operations.pull import PullSettings
from virtcim.provider import AssociationProvider, RequestContext, same_keys
from virtcim.repository.schema import Repository
from virtcim.valuemaps import (
    AdvertiseType,
    AuthenticationMechanism,
    CIMXMLProtocolVersion,
    ClassInfo,
    ClassType,
    CommunicationMechanism,
    EnabledState,
    FunctionalProfile,
    OperationalStatus,
)

__all__ = [
    "SCHEMA_VERSION",
    "SUPPORTED_FUNCTIONAL_PROFILES",
    "AuthenticationMechanism",
    "FunctionalProfile",
    "ObjectManagerProvider",
    "ServerDescription",
]

#: The DMTF CIM Schema release the classes in ``schemas/`` come from.
SCHEMA_VERSION = "2.49.0"

PRODUCT = "virtcim"
#: The object manager's own ``Name`` key; one per server, so a constant.
OBJECT_MANAGER_NAME = PRODUCT
COMM_MECHANISM_NAME = "cim-xml"
#: Services are keyed by the system hosting them; the host itself is not
#: modelled in the interop namespace, so its generic class names it.
HOSTING_SYSTEM_CLASS = "CIM_ComputerSystem"
#: The pull layer refuses only 0 ("never expire"): one second is the least.
MIN_OPERATION_TIMEOUT = 1



#: What the operations layer implements in full. Not Schema Manipulation nor
#: Qualifier Declaration (the schema is read-only).
SUPPORTED_FUNCTIONAL_PROFILES = (
    FunctionalProfile.BASIC_READ,
    FunctionalProfile.BASIC_WRITE,
    FunctionalProfile.INSTANCE_MANIPULATION,
    FunctionalProfile.ASSOCIATION_TRAVERSAL,
    FunctionalProfile.QUERY_EXECUTION,
    FunctionalProfile.INDICATIONS,
    FunctionalProfile.PULLED_READ,
    FunctionalProfile.PULLED_READ_COUNT,
    FunctionalProfile.PULLED_QUERY_EXECUTION,
)










@dataclass(frozen=True)
class ServerDescription:
    """What the interop namespace says about this server, fixed at start-up.

    ``namespaces`` are the canonical names the server answers, the interop
    namespace included; ``host`` is the name of the system it runs on.
    """

    host: str
    version: str
    interop_namespace: str
    namespaces: tuple[str, ...]
    auth_mechanisms: tuple[AuthenticationMechanism, ...]
    functional_profiles: tuple[FunctionalProfile, ...]
    pull: PullSettings


class ObjectManagerProvider(AssociationProvider):
    """``CIM_ObjectManager`` and what hangs off it, in the interop namespace.

    One provider for the five classes, because every one of them is keyed by
    (or points at) the one object manager.
    """

    classnames = (
        "CIM_ObjectManager",
        "CIM_CIMXMLCommunicationMechanism",
        "CIM_CommMechanismForManager",
        "CIM_Namespace",
        "CIM_NamespaceInManager",
    )

    def __init__(self, server: ServerDescription) -> None:
        self.server = server
        self._producers: dict[str, Callable[[Repository, str], list[CIMInstance]]] = {
            "cim_objectmanager": lambda repo, _: [self._object_manager(repo)],
            "cim_cimxmlcommunicationmechanism": lambda repo, _: [self._comm_mechanism(repo)],
            "cim_commmechanismformanager": lambda repo, _: [self._comm_mechanism_link(repo)],
            "cim_namespace": self._namespaces,
            "cim_namespaceinmanager": self._namespace_links,
        }

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        return self._produce(ctx.repository, classname, self._interop_name(ctx))

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        """The instance at ``path``; the interop namespace is found by any of its names."""
        names = [self._interop_name(ctx), self.server.interop_namespace]
        asked = path.keybindings.get("Name")
        if isinstance(asked, str) and self._names_interop(ctx.repository, asked):
            names.append(asked)
        for name in dict.fromkeys(names):
            for inst in self._produce(ctx.repository, path.classname, name):
                if same_keys(inst.path, path):
                    return inst
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path} in {ctx.namespace}")

    def _produce(self, repo: Repository, classname: str, interop_name: str) -> list[CIMInstance]:
        produce = self._producers.get(classname.lower())
        if produce is None:
            raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{classname} is not served by {self!r}")
        return produce(repo, interop_name)

    def _names_interop(self, repo: Repository, name: str) -> bool:
        try:
            return repo.canonical_namespace(name) == self.server.interop_namespace
        except CIMError:
            return False

    def _interop_name(self, ctx: RequestContext) -> str:
        """The name the interop namespace is listed under: as the request named it.

        A client that found the interop namespace as ``interop`` (pywbem
        tries that name first) sees it listed as ``interop``, one that named
        it ``root/interop`` as ``root/interop``: each namespace once, under
        the name the client uses.
        """
        addressed = ctx.addressed
        if (addressed and ctx.namespace == self.server.interop_namespace
                and addressed.lower() != self.server.interop_namespace.lower()):
            return addressed
        return self.server.interop_namespace

    # -- the object manager ---------------------------------------------------

    def _object_manager(self, repo: Repository) -> CIMInstance:
        return self._instance(
            repo, "CIM_ObjectManager", **self._object_manager_keys(),
            ElementName=PRODUCT,
            # pywbem reads the version from the word after "version".
            Description=f"{PRODUCT} WBEM server version {self.server.version}",
            Started=True,
            EnabledState=EnabledState.ENABLED,
            OperationalStatus=[OperationalStatus.OK],
            # Statistics are not gathered, so a client cannot switch them on.
            GatherStatisticalData=False,
        )

    def _object_manager_keys(self) -> dict[str, str]:
        return {
            "SystemCreationClassName": HOSTING_SYSTEM_CLASS,
            "SystemName": self.server.host,
            "CreationClassName": "CIM_ObjectManager",
            "Name": OBJECT_MANAGER_NAME,
        }

    def _object_manager_path(self, repo: Repository) -> CIMInstanceName:
        return repo.build_path(self.server.interop_namespace, "CIM_ObjectManager",
                               self._object_manager_keys())

    # -- the protocol -------------------------------------------------------------

    def _comm_mechanism(self, repo: Repository) -> CIMInstance:
        server = self.server
        return self._instance(
            repo, "CIM_CIMXMLCommunicationMechanism", **self._comm_mechanism_keys(),
            ElementName=f"{PRODUCT} CIM-XML",
            CommunicationMechanism=CommunicationMechanism.CIM_XML,
            Version="1.0",
            CIMXMLProtocolVersion=CIMXMLProtocolVersion.V1_0,
            # Requests are checked by the decoder, not validated against the DTD.
            CIMValidated=False,
            FunctionalProfilesSupported=list(server.functional_profiles),
            FunctionalProfileDescriptions=[_described(p) for p in server.functional_profiles],
            MultipleOperationsSupported=False,
            AuthenticationMechanismsSupported=list(server.auth_mechanisms),
            AuthenticationMechanismDescriptions=[_described(m) for m in server.auth_mechanisms],
            AdvertiseTypes=[AdvertiseType.NOT_ADVERTISED],
            EnabledState=EnabledState.ENABLED,
            PulledEnumerationMaximumOperationTimeout=server.pull.max_timeout,
            PulledEnumerationMinimumOperationTimeout=MIN_OPERATION_TIMEOUT,
            PulledEnumerationNoOperationTimeoutSupported=False,
            PulledEnumerationContinuationOnErrorSupported=False,
            # Past a limit an Open* is refused; open enumerations are never cut short.
            PulledEnumerationClosureOnExceedingServerLimitsSupported=False,
        )

    def _comm_mechanism_keys(self) -> dict[str, str]:
        return {
            "SystemCreationClassName": HOSTING_SYSTEM_CLASS,
            "SystemName": self.server.host,
            "CreationClassName": "CIM_CIMXMLCommunicationMechanism",
            "Name": COMM_MECHANISM_NAME,
        }

    def _comm_mechanism_link(self, repo: Repository) -> CIMInstance:
        mechanism = repo.build_path(self.server.interop_namespace,
                                    "CIM_CIMXMLCommunicationMechanism",
                                    self._comm_mechanism_keys())
        return self._instance(repo, "CIM_CommMechanismForManager",
                              Antecedent=self._object_manager_path(repo), Dependent=mechanism)

    # -- the namespaces -------------------------------------------------------------

    def _namespace_names(self, interop_name: str) -> list[str]:
        interop = self.server.interop_namespace
        return [interop_name if name == interop else name for name in self.server.namespaces]

    def _namespaces(self, repo: Repository, interop_name: str) -> list[CIMInstance]:
        return [
            self._instance(
                repo, "CIM_Namespace", **self._namespace_keys(name),
                ClassInfo=ClassInfo.OTHER,
                DescriptionOfClassInfo=f"CIM {SCHEMA_VERSION}",
                ClassType=ClassType.CIM,
                ClassTypeVersion=SCHEMA_VERSION,
            )
            for name in self._namespace_names(interop_name)
        ]

    def _namespace_keys(self, name: str) -> dict[str, str]:
        return {
            "SystemCreationClassName": HOSTING_SYSTEM_CLASS,
            "SystemName": self.server.host,
            "ObjectManagerCreationClassName": "CIM_ObjectManager",
            "ObjectManagerName": OBJECT_MANAGER_NAME,
            "CreationClassName": "CIM_Namespace",
            "Name": name,
        }

    def _namespace_links(self, repo: Repository, interop_name: str) -> list[CIMInstance]:
        manager = self._object_manager_path(repo)
        return [
            self._instance(
                repo, "CIM_NamespaceInManager", Antecedent=manager,
                Dependent=repo.build_path(self.server.interop_namespace, "CIM_Namespace",
                                          self._namespace_keys(name)),
            )
            for name in self._namespace_names(interop_name)
        ]

    def _instance(self, repo: Repository, classname: str, **values: Any) -> CIMInstance:
        return repo.build_instance(self.server.interop_namespace, classname, values)


def _described(value: enum.IntEnum) -> str:
    """The DMTF ``Values`` text of a ValueMap member: ``PULLED_READ`` -> ``Pulled Read``."""
    return value.name.replace("_", " ").title()
