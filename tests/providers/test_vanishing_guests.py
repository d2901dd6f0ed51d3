"""A guest undefined between the listing and the reading of it is skipped, never a failure.

Every request that lists guests reads each one after the listing (its XML,
its autostart flag, its console's sessions...). A guest another client
removes in between drops out of the answer while the other guests are
answered, and a GetInstance of it says ``CIM_ERR_NOT_FOUND``. The race is
made to happen every time: libvirt's own calls are wrapped so that a second
libvirt client removes the guest right after the listing, or right after
the guest's XML was read (so that it is gone for the reads that follow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest
from pywbem import CIM_ERR_NOT_FOUND, CIMClassName, CIMError, CIMInstanceName

from providers import register_providers
from providers.classes import INTEROP_NAMESPACE, VIRT_NAMESPACE
from providers.virt import Hypervisor
from tests.sample_domains import RICH_DOMAIN
from tests.vanishing import AFTER_ITS_XML, AFTER_THE_LISTING, AFTER_THE_LOOKUP, Vanisher, mentions
from virtcim.cimxml.messages import IntrinsicCall
from virtcim.interop import AuthenticationMechanism, ProfileRegistry, register_interop
from virtcim.operations import Dispatcher, PullSettings
from virtcim.provider import ProviderRegistry
from virtcim.repository.schema import Repository

VICTIM = "vanishing"
#: When the victim goes in a request that lists guests.
MOMENTS = {"after the listing": AFTER_THE_LISTING, "after its XML was read": AFTER_ITS_XML}
#: When the victim goes in a request for one object (or by key): right after it
#: was looked up (or listed, by a request that reads an association through
#: the links of one end), or right after its XML was read.
LOOKUPS = {"after its lookup": AFTER_THE_LISTING + AFTER_THE_LOOKUP,
           "after its XML was read": AFTER_ITS_XML}
#: Deep enumerations that reach many providers at once.
DEEP_CLASSES = ("CIM_ManagedElement", "CIM_LogicalDevice", "CIM_SettingData")


def victim(conn: libvirt.virConnect, monkeypatch: pytest.MonkeyPatch,
           calls: list[tuple[type, str]], running: bool) -> Vanisher:
    """The rich test-driver guest ``vanishing``, removed right after ``calls``."""
    return Vanisher(conn, monkeypatch, calls, VICTIM, RICH_DOMAIN.replace("NAME", VICTIM),
                    running)


class Model:
    """The server's wiring (interop and model providers) over the test driver."""

    def __init__(self, repository: Repository, hypervisor: Hypervisor) -> None:
        self.registry = ProviderRegistry()
        profiles = ProfileRegistry(INTEROP_NAMESPACE)
        register_interop(self.registry, repository, profiles, host="host.example",
                         pull=PullSettings(), auth_mechanisms=[AuthenticationMechanism.NONE])
        register_providers(self.registry, repository, [hypervisor], profiles)
        self.dispatcher = Dispatcher(repository, self.registry)
        self._ids = itertools.count(1)

    def call(self, name: str, namespace: str = VIRT_NAMESPACE, **params: Any) -> Any:
        result = self.dispatcher.intrinsic(
            IntrinsicCall(str(next(self._ids)), name, namespace, params))
        return result if not isinstance(result, Iterator) else list(result)

    def classnames(self, namespace: str = VIRT_NAMESPACE) -> list[str]:
        return sorted(self.registry.classnames(namespace))

    def every_path(self) -> list[CIMInstanceName]:
        """Every object of ``root/virt``, found class by class."""
        return [path for classname in self.classnames()
                for path in self.call("EnumerateInstanceNames",
                                      ClassName=CIMClassName(classname))]  # fmt: skip

    def get(self, path: CIMInstanceName) -> str:
        """``found``, ``not found``, or the error GetInstance of ``path`` answers."""
        local = CIMInstanceName(path.classname, path.keybindings, namespace=VIRT_NAMESPACE)
        try:
            self.call("GetInstance", InstanceName=local)
        except CIMError as error:
            return "not found" if error.status_code == CIM_ERR_NOT_FOUND else str(error)
        return "found"


@pytest.fixture
def model(repository: Repository, hypervisor: Hypervisor) -> Iterator[Model]:
    model = Model(repository, hypervisor)
    yield model
    model.dispatcher.close()


@pytest.fixture(params=["running", "shut off"])
def running(request: pytest.FixtureRequest) -> bool:
    return request.param == "running"


@pytest.fixture(params=list(MOMENTS))
def vanisher(request: pytest.FixtureRequest, running: bool, libvirt_conn: libvirt.virConnect,
             monkeypatch: pytest.MonkeyPatch) -> Vanisher:
    return victim(libvirt_conn, monkeypatch, MOMENTS[request.param], running)


@pytest.fixture(params=list(LOOKUPS))
def looked_up_vanisher(request: pytest.FixtureRequest, running: bool,
                       libvirt_conn: libvirt.virConnect,
                       monkeypatch: pytest.MonkeyPatch) -> Vanisher:
    return victim(libvirt_conn, monkeypatch, LOOKUPS[request.param], running)


def mentions_victim(value: object) -> bool:
    return mentions(value, VICTIM)


def is_association(path: CIMInstanceName) -> bool:
    return any(isinstance(key, CIMInstanceName) for key in path.keybindings.values())


def path_of(item: Any) -> CIMInstanceName:
    path = item if isinstance(item, CIMInstanceName) else item.path
    return CIMInstanceName(path.classname, path.keybindings)


def race_each(vanisher: Vanisher, requests: dict[str, Callable[[], list[Any]]]) -> dict[str, str]:
    """Run each request once with the victim there and once with it vanishing mid-request.

    Returns what went wrong, by request (empty when nothing did): a failure,
    or an answer that lacks the other guests' objects or has objects of the
    victim it could not read (none when it vanished right after the listing;
    what was made from its XML alone when it vanished after that).
    """
    failures = {}
    vanished = 0
    for name, request in requests.items():
        vanisher.define()
        try:
            before = {path_of(item) for item in request()}
            vanisher.arm()
            during = {path_of(item) for item in request()}
        except CIMError as error:
            failures[name] = f"failed: {error}"
            continue
        finally:
            vanished += vanisher.vanished
            vanisher.remove()
        others = {path for path in before if not mentions_victim(path)}
        allowed = before if vanisher.read_first else others
        if not others <= during <= allowed:
            failures[name] = f"differs in {sorted(map(str, during ^ others))}"
    assert vanished, "the victim never vanished: the race was not run"
    return failures


def assert_none(failures: dict[str, str]) -> None:
    """Fail naming every request that went wrong and how."""
    if failures:
        pytest.fail("\n".join(f"{name}: {failure}" for name, failure in failures.items()),
                    pytrace=False)


def test_every_enumeration_skips_a_guest_that_vanishes_mid_request(model, vanisher):
    requests = {}
    for classname in model.classnames() + list(DEEP_CLASSES):
        for operation in ("EnumerateInstances", "EnumerateInstanceNames"):
            requests[f"{operation} {classname}"] = (
                lambda op=operation, cls=classname: model.call(op, ClassName=CIMClassName(cls)))
    requests["ExecQuery"] = lambda: model.call(
        "ExecQuery", QueryLanguage="DMTF:CQL", Query="SELECT * FROM CIM_ComputerSystem")
    requests["OpenEnumerateInstances"] = lambda: model.call(
        "OpenEnumerateInstances", ClassName=CIMClassName("CIM_LogicalDevice"),
        MaxObjectCount=1000).items
    for classname in ("CIM_ElementConformsToProfile", "Test_ElementConformsToProfile"):
        requests[f"EnumerateInstances {classname}"] = (
            lambda cls=classname: model.call("EnumerateInstances", INTEROP_NAMESPACE,
                                             ClassName=CIMClassName(cls)))
    assert_none(race_each(vanisher, requests))


def test_every_association_from_a_shared_object_skips_a_guest_that_vanishes(model, vanisher):
    vanisher.define()
    shared = [path for path in model.every_path()
              if not mentions_victim(path) and not is_association(path)]  # fmt: skip
    vanisher.remove()
    requests = {}
    for path, operation in itertools.product(shared, ("References", "Associators")):
        source = CIMInstanceName(path.classname, path.keybindings, namespace=VIRT_NAMESPACE)
        requests[f"{operation} {path}"] = (
            lambda op=operation, source=source: model.call(op, ObjectName=source))
    assert_none(race_each(vanisher, requests))


def test_every_object_of_a_vanished_guest_is_not_found(model, libvirt_conn, monkeypatch, running):
    gone = victim(libvirt_conn, monkeypatch, [], running)
    gone.define()
    owned = [path for path in model.every_path() if mentions_victim(path)]
    assert {path.classname for path in owned} >= {
        "Test_ComputerSystem", "Test_VirtualSystemSettingData", "Test_LogicalDisk",
        "Test_DiskResourceAllocationSettingData", "Test_KVMRedirectionSAP"}
    gone.remove()
    answers = {str(path): model.get(path) for path in owned}
    assert_none({path: answer for path, answer in answers.items() if answer != "not found"})


def test_getinstance_of_a_guest_that_vanishes_mid_request_is_it_or_not_found(
        model, looked_up_vanisher):
    vanisher = looked_up_vanisher
    vanisher.define()
    owned = [path for path in model.every_path() if mentions_victim(path)]
    vanisher.remove()
    answers, vanished = {}, 0
    for path in owned:
        vanisher.define()
        vanisher.arm()
        answers[str(path)] = model.get(path)
        vanished += vanisher.vanished
        vanisher.remove()
    assert vanished == len(owned)
    assert_none({path: answer for path, answer in answers.items()
                 if answer not in ("found", "not found")})  # fmt: skip


@pytest.mark.parametrize("query", [
    "SELECT * FROM CIM_ComputerSystem WHERE Name = 'vanishing' OR Name = 'test'",
    "SELECT * FROM CIM_VirtualSystemSettingData "
    "WHERE InstanceID = 'Test:vanishing' OR InstanceID = 'Test:test'",
])
def test_a_query_by_key_of_a_guest_that_vanishes_after_its_lookup_skips_it(
        model, looked_up_vanisher, query):
    vanisher = looked_up_vanisher
    vanisher.define()
    vanisher.arm()
    answered = model.call("ExecQuery", QueryLanguage="DMTF:CQL", Query=query)
    assert vanisher.vanished
    assert len([instance for instance in answered if not mentions_victim(path_of(instance))]) == 1
    vanisher.remove()
