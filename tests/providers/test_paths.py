"""The paths of providers.paths name instances the providers serve, over test:///default."""

import pytest

from providers import paths
from providers.classes import VIRT_NAMESPACE
from providers.virt.mapping import Kind
from virtcim.provider import RequestContext, same_keys

#: Every path of a hypervisor's one-of-a-kind instances.
SINGLETONS = [
    paths.host_path,
    paths.management_service_path,
    paths.management_capabilities_path,
    paths.configuration_service_path,
    paths.configuration_capabilities_path,
    paths.console_service_path,
    paths.console_capabilities_path,
    paths.migration_service_path,
    paths.migration_capabilities_path,
    paths.migration_setting_path,
]


@pytest.fixture
def ctx(cim, repository):
    return RequestContext(VIRT_NAMESPACE, repository, cim.dispatcher)


@pytest.mark.parametrize("path_of", SINGLETONS, ids=lambda function: function.__name__)
def test_each_singleton_path_finds_its_instance(cim, ctx, path_of):
    path = path_of(ctx, cim.hypervisor)
    assert path.namespace == VIRT_NAMESPACE and path.classname.startswith("Test_")
    assert same_keys(cim.get(path).path, path)


def test_a_guest_s_paths_find_its_instances(cim, ctx):
    hv = cim.hypervisor
    found = [
        paths.guest_path(ctx, hv, "test"),
        paths.guest_capabilities_path(ctx, hv, "test"),
        paths.vssd_path(ctx, hv, "test"),
        paths.rasd_path(ctx, hv, Kind.MEM, "test", "mem"),
        paths.device_path(ctx, hv, "Memory", "test", "mem"),
    ]
    for path in found:
        assert same_keys(cim.get(path).path, path), path


def test_pool_paths_find_their_pool_and_its_capabilities(cim, ctx):
    hv = cim.hypervisor
    for path in (paths.pool_path(ctx, hv, "MemoryPool/0"),
                 paths.allocation_capabilities_path(ctx, hv, "MemoryPool/0")):
        assert same_keys(cim.get(path).path, path), path


def test_a_pool_path_of_no_kind_of_pool_is_refused(cim, ctx):
    with pytest.raises(ValueError, match="ToasterPool is not a kind of pool"):
        paths.pool_path(ctx, cim.hypervisor, "ToasterPool/0")


def test_the_host_path_is_recognised_by_class_and_both_keys(cim, ctx):
    hv = cim.hypervisor
    host = paths.host_path(ctx, hv)
    assert paths.is_host_path(hv, host)
    assert not paths.is_host_path(hv, paths.guest_path(ctx, hv, hv.hostname))
    other = host.copy()
    other["Name"] = "elsewhere"
    assert not paths.is_host_path(hv, other)
