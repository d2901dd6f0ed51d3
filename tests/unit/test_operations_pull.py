"""Pulled enumerations: paging, end of sequence, expiry, limits, ownership."""

import threading

import pytest
from pywbem import (
    CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED,
    CIM_ERR_INVALID_ENUMERATION_CONTEXT,
    CIM_ERR_INVALID_OPERATION_TIMEOUT,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_INVALID_QUERY,
    CIM_ERR_PULL_CANNOT_BE_ABANDONED,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIM_ERR_SERVER_LIMITS_EXCEEDED,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

from tests.unit.model import NS, World, cim_status, host_path
from virtcim.operations import PullSettings
from virtcim.provider import InstanceProvider


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def small(model_repository, clock):
    built = World(model_repository, PullSettings(default_timeout=10, max_timeout=60,
                                                 max_object_count=3, max_contexts=2,
                                                 reap_interval=3600), clock)
    yield built
    built.dispatcher.close()


def pull_all(world, first, operation="PullInstancesWithPath", count=2, user=None):
    items, result = list(first.items), first
    while not result.end_of_sequence:
        result = world.call(operation, EnumerationContext=result.context,
                            MaxObjectCount=count, user=user)
        items.extend(result.items)
    return items


def test_open_pages_through_everything_and_ends(world):
    first = world.call("OpenEnumerateInstances", ClassName="T_Element", MaxObjectCount=2)
    assert len(first.items) == 2 and not first.end_of_sequence and first.context
    items = pull_all(world, first)
    assert len(items) == 5 and all(isinstance(i, CIMInstance) for i in items)
    assert all(i.path.host == "server.example" and i.path.namespace == NS for i in items)


def test_open_without_max_object_count_returns_nothing_yet(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    assert first.items == [] and not first.end_of_sequence
    rest = world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=10)
    assert [p["Name"] for p in rest.items] == ["h1", "h2"]
    assert rest.end_of_sequence and rest.context == ""


def test_end_of_sequence_is_reported_with_the_last_page(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host", MaxObjectCount=2)
    assert first.end_of_sequence and first.context == ""
    assert all(isinstance(p, CIMInstanceName) for p in first.items)


def test_context_is_closed_at_end_of_sequence(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host", MaxObjectCount=1)
    world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=5)
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=5)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_pull_with_zero_keeps_the_context_alive(small, clock):
    first = small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    for _ in range(3):
        clock.now += 8
        result = small.call("PullInstancePaths", EnumerationContext=first.context,
                            MaxObjectCount=0)
        assert result.items == [] and not result.end_of_sequence
    assert len(small.call("PullInstancePaths", EnumerationContext=first.context,
                          MaxObjectCount=3).items) == 2


def test_expired_context_is_invalid(small, clock):
    first = small.call("OpenEnumerateInstancePaths", ClassName="T_Host", OperationTimeout=5)
    clock.now += 5.5
    with pytest.raises(CIMError) as exc:
        small.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=1)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_reaper_drops_expired_contexts(small, clock):
    small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    clock.now += 11
    # Both slots are expired: a new Open reaps them instead of refusing.
    small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    assert small.dispatcher.open_enumerations == 1


def test_real_reaper_thread_cleans_up(model_repository):
    built = World(model_repository, PullSettings(default_timeout=1, reap_interval=0.05))
    try:
        built.call("OpenEnumerateInstancePaths", ClassName="T_Host", OperationTimeout=1)
        pause = threading.Event()
        for _ in range(60):
            if not built.dispatcher.open_enumerations:
                break
            pause.wait(0.05)
        assert built.dispatcher.open_enumerations == 0
    finally:
        built.dispatcher.close()


def test_too_many_open_contexts_is_server_limits_exceeded(small):
    for _ in range(2):
        small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    with pytest.raises(CIMError) as exc:
        small.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    assert cim_status(exc) == CIM_ERR_SERVER_LIMITS_EXCEEDED


def test_max_object_count_is_capped(small):
    first = small.call("OpenEnumerateInstances", ClassName="T_Element", MaxObjectCount=100)
    assert len(first.items) == 3


def test_close_enumeration(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    assert world.call("CloseEnumeration", EnumerationContext=first.context) is None
    with pytest.raises(CIMError) as exc:
        world.call("CloseEnumeration", EnumerationContext=first.context)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_enumeration_count_is_unknown_but_checks_the_context(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    assert world.call("EnumerationCount", EnumerationContext=first.context) is None
    with pytest.raises(CIMError) as exc:
        world.call("EnumerationCount", EnumerationContext="bogus")
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_pull_of_the_wrong_kind_is_invalid_context(world):
    paths = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancesWithPath", EnumerationContext=paths.context, MaxObjectCount=1)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    with pytest.raises(CIMError) as exc:
        world.call("PullInstances", EnumerationContext=paths.context, MaxObjectCount=1)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert world.call("PullInstancePaths", EnumerationContext=paths.context,
                      MaxObjectCount=5).end_of_sequence


def test_contexts_belong_to_their_user(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host", user="alice")
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=1,
                   user="mallory")
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    with pytest.raises(CIMError) as exc:
        world.call("CloseEnumeration", EnumerationContext=first.context, user="mallory")
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert len(world.call("PullInstancePaths", EnumerationContext=first.context,
                          MaxObjectCount=5, user="alice").items) == 2


def test_contexts_belong_to_their_namespace(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancePaths", namespace="root/other",
                   EnumerationContext=first.context, MaxObjectCount=1)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT
    assert world.call("PullInstancePaths", namespace="test", EnumerationContext=first.context,
                      MaxObjectCount=5).end_of_sequence


class Gate(InstanceProvider):
    """Yields one instance, then waits until the test lets it go on."""

    def __init__(self):
        self.inside = threading.Event()
        self.release = threading.Event()

    def enumerate_instances(self, ctx, classname, property_list):
        yield ctx.instance(classname, InstanceID="a")
        yield ctx.instance(classname, InstanceID="b")
        self.inside.set()
        self.release.wait(5)
        yield ctx.instance(classname, InstanceID="c")


def test_concurrent_use_of_a_context_is_refused(world):
    gate = Gate()
    world.registry.register(NS, ["T_Setting"], gate)
    first = world.call("OpenEnumerateInstances", ClassName="T_Setting", MaxObjectCount=0)
    results = []
    puller = threading.Thread(target=lambda: results.append(world.call(
        "PullInstancesWithPath", EnumerationContext=first.context, MaxObjectCount=2)))
    puller.start()
    assert gate.inside.wait(5)
    for operation, params in (("PullInstancesWithPath", {"MaxObjectCount": 1}),
                              ("CloseEnumeration", {})):
        with pytest.raises(CIMError) as exc:
            world.call(operation, EnumerationContext=first.context, **params)
        assert cim_status(exc) == CIM_ERR_PULL_CANNOT_BE_ABANDONED
    gate.release.set()
    puller.join(5)
    assert [i["InstanceID"] for i in results[0].items] == ["a", "b"]


def test_pulled_enumeration_is_lazy(world):
    produced = []

    class Endless(InstanceProvider):
        def enumerate_instances(self, ctx, classname, property_list):
            n = 0
            while True:
                produced.append(n)
                yield ctx.instance(classname, InstanceID=str(n))
                n += 1

    world.registry.register(NS, ["T_Setting"], Endless())
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Setting", MaxObjectCount=3)
    page = world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=3)
    assert [p["InstanceID"] for p in page.items] == ["3", "4", "5"]
    assert len(produced) == 7  # six sent, one read ahead to know the end is not near


def test_provider_failure_ends_the_enumeration(world):
    class Failing(InstanceProvider):
        def enumerate_instances(self, ctx, classname, property_list):
            yield ctx.instance(classname, InstanceID="a")
            yield ctx.instance(classname, InstanceID="b")
            raise RuntimeError("lost connection")

    world.registry.register(NS, ["T_Setting"], Failing())
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Setting", MaxObjectCount=0)
    with pytest.raises(CIMError):
        world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=5)
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancePaths", EnumerationContext=first.context, MaxObjectCount=5)
    assert cim_status(exc) == CIM_ERR_INVALID_ENUMERATION_CONTEXT


def test_open_associators_and_references(world):
    assoc = world.call("OpenAssociatorInstances", InstanceName=host_path("h1"),
                       ResultClass="T_KVMGuest", MaxObjectCount=10)
    assert [i["Name"] for i in assoc.items] == ["k1"] and assoc.end_of_sequence
    paths = world.call("OpenAssociatorInstancePaths", InstanceName=host_path("h1"),
                       MaxObjectCount=10)
    assert len(paths.items) == 2
    refs = world.call("OpenReferenceInstances", InstanceName=host_path("h1"),
                      PropertyList=["Dependent"], MaxObjectCount=1)
    items = pull_all(world, refs)
    assert len(items) == 2 and all(list(i.properties) == ["Dependent"] for i in items)
    ref_paths = world.call("OpenReferenceInstancePaths", InstanceName=host_path("h1"),
                           Role="Antecedent", MaxObjectCount=10)
    assert {p.classname for p in ref_paths.items} == {"T_Hosted"}


@pytest.mark.parametrize("params, code", [
    ({"OperationTimeout": 0}, CIM_ERR_INVALID_OPERATION_TIMEOUT),
    ({"OperationTimeout": 61}, CIM_ERR_INVALID_OPERATION_TIMEOUT),
    ({"ContinueOnError": True}, CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED),
    ({"FilterQueryLanguage": "WQL", "FilterQuery": "Name = 'h1'"},
     CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED),
    ({"FilterQueryLanguage": "DMTF:FQL", "FilterQuery": "Name = "}, CIM_ERR_INVALID_QUERY),
    ({"FilterQueryLanguage": "DMTF:FQL", "FilterQuery": "Bogus = 1"}, CIM_ERR_INVALID_QUERY),
    ({"FilterQuery": "Name = 'h1'"}, CIM_ERR_INVALID_PARAMETER),
    ({"IncludeQualifiers": False}, CIM_ERR_INVALID_PARAMETER),
    ({"LocalOnly": False}, CIM_ERR_INVALID_PARAMETER),
    ({"MaxObjectCount": -1}, CIM_ERR_INVALID_PARAMETER),
])
def test_open_parameter_errors(small, params, code):
    with pytest.raises(CIMError) as exc:
        small.call("OpenEnumerateInstances", ClassName="T_Host", **params)
    assert cim_status(exc) == code
    assert small.dispatcher.open_enumerations == 0


def test_pull_needs_max_object_count(world):
    first = world.call("OpenEnumerateInstancePaths", ClassName="T_Host")
    with pytest.raises(CIMError) as exc:
        world.call("PullInstancePaths", EnumerationContext=first.context)
    assert cim_status(exc) == CIM_ERR_INVALID_PARAMETER

