"""The bridge end to end: a real server on loopback, real clients.

pywbem (traditional and pulled operations), pywbemcli and sblim wbemcli, over
HTTP and HTTPS, with and without authentication, against the embedded
libvirt test driver.
"""

from __future__ import annotations

import shutil

import pytest
import pywbem
from pywbem import (
    CIM_ERR_INVALID_CLASS,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_NOT_FOUND,
    CIMInstanceName,
)

from tests.http.servers import PASSWORD, USER, pywbemcli, running_server, wbemcli

pytestmark = [pytest.mark.http]

needs_wbemcli = pytest.mark.skipif(shutil.which("wbemcli") is None,
                                   reason="Debian's sblim-wbemcli is not installed")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("secured"), auth=True, https=True) as srv:
        yield srv


# -- pywbem -----------------------------------------------------------------

def test_class_operations_answer_from_the_schema(server):
    conn = server.connection()
    cls = conn.GetClass("CIM_ComputerSystem", IncludeQualifiers=True, LocalOnly=False)
    assert "EnabledState" in cls.properties
    assert "RequestStateChange" in cls.methods
    names = conn.EnumerateClassNames(ClassName="CIM_ManagedElement", DeepInheritance=True)
    assert "CIM_ComputerSystem" in names and "CIM_RegisteredProfile" in names
    qualifier = conn.GetQualifier("Key")
    assert qualifier.type == "boolean"


def test_interop_namespace_is_found_by_pywbem_server_discovery(server):
    wbem = pywbem.WBEMServer(server.connection())
    assert wbem.interop_ns == "interop"
    assert wbem.brand == "virtcim"
    assert wbem.version
    # The interop namespace is listed under the name pywbem found it by.
    assert sorted(wbem.namespaces) == ["interop", "root/virt"]


@pytest.mark.parametrize("use_pull", [True, False], ids=["pull", "traditional"])
def test_iter_operations_work_both_ways(server, use_pull):
    conn = server.connection("root/interop", use_pull_operations=use_pull)
    namespaces = list(conn.IterEnumerateInstances("CIM_Namespace", MaxObjectCount=1))
    assert {inst["Name"].lower() for inst in namespaces} >= {"root/virt", "root/interop"}
    paths = list(conn.IterEnumerateInstancePaths("CIM_Namespace", MaxObjectCount=1))
    assert len(paths) == len(namespaces)
    manager = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    linked = list(conn.IterAssociatorInstancePaths(manager, AssocClass="CIM_NamespaceInManager",
                                                   MaxObjectCount=1))
    assert len(linked) == len(namespaces)


def test_pulled_enumeration_pages_and_closes(server):
    conn = server.connection("root/interop")
    first = conn.OpenEnumerateInstances("CIM_Namespace", MaxObjectCount=1)
    assert len(first.instances) == 1 and not first.eos
    rest = conn.PullInstancesWithPath(first.context, MaxObjectCount=100)
    assert rest.eos
    again = conn.OpenEnumerateInstancePaths("CIM_Namespace", MaxObjectCount=0)
    conn.CloseEnumeration(again.context)
    with pytest.raises(pywbem.CIMError) as exc:
        conn.PullInstancePaths(again.context, MaxObjectCount=1)
    assert exc.value.status_code == pywbem.CIM_ERR_INVALID_ENUMERATION_CONTEXT


@pytest.mark.parametrize("use_pull", [True, False], ids=["pull", "traditional"])
def test_every_resource_setting_arrives_shaped_as_its_own_class(server, use_pull):
    conn = server.connection(use_pull_operations=use_pull)
    deep = list(conn.IterEnumerateInstances("CIM_ResourceAllocationSettingData",
                                            MaxObjectCount=3))
    classes = {inst.classname for inst in deep}
    assert {"Test_ProcResourceAllocationSettingData", "Test_MemResourceAllocationSettingData",
            "Test_NetResourceAllocationSettingData",
            "Test_EthernetPortAllocationSettingData"} <= classes
    for classname in classes:
        declared = set(conn.GetClass(classname, LocalOnly=False).properties)
        of_class = [inst for inst in deep if inst.classname == classname]
        assert all(set(inst.properties) == declared for inst in of_class)
        assert sorted(inst["InstanceID"] for inst in of_class) == sorted(
            inst["InstanceID"] for inst in conn.EnumerateInstances(classname))


def test_errors_carry_their_dsp0200_codes(server):
    conn = server.connection()
    with pytest.raises(pywbem.CIMError) as exc:
        conn.EnumerateInstances("CIM_ComputerSystem", namespace="root/nowhere")
    assert exc.value.status_code == CIM_ERR_INVALID_NAMESPACE
    with pytest.raises(pywbem.CIMError) as exc:
        conn.EnumerateInstances("CIM_NoSuchClass")
    assert exc.value.status_code == CIM_ERR_INVALID_CLASS
    missing = CIMInstanceName("CIM_ObjectManager", {"Name": "nope"}, namespace="root/interop")
    with pytest.raises(pywbem.CIMError) as exc:
        conn.GetInstance(missing)
    assert exc.value.status_code in (CIM_ERR_NOT_FOUND,)


def test_associations_cross_from_the_object_manager_to_namespaces(server):
    conn = server.connection("root/interop")
    manager = conn.EnumerateInstanceNames("CIM_ObjectManager")[0]
    namespaces = conn.Associators(manager, AssocClass="CIM_NamespaceInManager",
                                  ResultClass="CIM_Namespace", PropertyList=["Name"])
    assert {ns["Name"].lower() for ns in namespaces} >= {"root/virt", "root/interop"}
    assert all(set(ns.keys()) <= {"Name"} for ns in namespaces)
    links = conn.ReferenceNames(manager, ResultClass="CIM_NamespaceInManager", Role="Antecedent")
    assert len(links) == len(namespaces)


def test_class_level_associations_answer_with_classes(server):
    conn = server.connection("root/interop")
    names = conn.AssociatorNames("CIM_ObjectManager", AssocClass="CIM_NamespaceInManager")
    assert "CIM_Namespace" in {name.classname for name in names}
    classes = conn.References("CIM_Namespace", ResultClass="CIM_NamespaceInManager")
    assert [cls.classname for _, cls in classes] == ["CIM_NamespaceInManager"]


def test_wrong_password_is_refused_with_401(secured):
    with pytest.raises(pywbem.AuthError):
        secured.connection(password="wrong").EnumerateClassNames()


def test_https_with_basic_auth_serves_pywbem(secured):
    conn = secured.connection("root/interop", https=True)
    assert len(conn.EnumerateInstances("CIM_ObjectManager")) == 1


# -- pywbemcli ----------------------------------------------------------------

@pytest.mark.clients
@pytest.mark.parametrize("args, expected", [
    (("class", "enumerate", "--names-only", "--namespace", "root/virt"), "CIM_ManagedElement"),
    (("instance", "enumerate", "CIM_ObjectManager", "--namespace", "root/interop"), "virtcim"),
    (("namespace", "list"), "root/virt"),
    (("namespace", "interop"), "interop"),
    (("profile", "list"), "Profile Registration"),
    (("connection", "test", "--test-pull"), "OpenEnumerateInstances"),
], ids=lambda v: v[1] if isinstance(v, tuple) and v and isinstance(v[0], str) else None)
def test_pywbemcli_commands(server, args, expected):
    result = pywbemcli(server, *args)
    assert result.returncode == 0, result.stderr + result.stdout
    assert expected in result.stdout


@pytest.mark.clients
def test_pywbemcli_over_https_with_authentication(secured):
    result = pywbemcli(secured, "namespace", "list", https=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["interop", "root/virt"]
    refused = pywbemcli(secured, "namespace", "list", https=True, password="wrong")
    assert refused.returncode != 0


# -- sblim wbemcli -------------------------------------------------------------

@pytest.mark.clients
@needs_wbemcli
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_wbemcli_enumerates_gets_and_navigates(secured, https):
    names = wbemcli(secured, "ecn", "root/interop:CIM_WBEMService", https=https)
    assert names.returncode == 0, names.stderr
    assert "CIM_ObjectManager" in names.stdout
    paths = wbemcli(secured, "ein", "root/interop:CIM_Namespace", https=https)
    assert paths.returncode == 0, paths.stderr
    assert "root/virt" in paths.stdout
    instances = wbemcli(secured, "ei", "root/interop:CIM_ObjectManager", https=https)
    assert instances.returncode == 0, instances.stderr
    assert "virtcim" in instances.stdout
    manager = instances.stdout.split()[0].split("/", 1)[1].split(" ")[0]
    got = wbemcli(secured, "gi", manager.rstrip(":"), https=https)
    assert got.returncode == 0, got.stderr
    linked = wbemcli(secured, "ain", manager.rstrip(":"), "-ac", "CIM_NamespaceInManager", https=https)
    assert linked.returncode == 0, linked.stderr
    assert "CIM_Namespace" in linked.stdout


@pytest.mark.clients
@needs_wbemcli
def test_wbemcli_reads_every_resource_setting_in_one_enumeration(secured):
    deep = wbemcli(secured, "ein", "root/virt:CIM_ResourceAllocationSettingData")
    assert deep.returncode == 0, deep.stderr
    instances = wbemcli(secured, "ei", "root/virt:CIM_ResourceAllocationSettingData")
    assert instances.returncode == 0, instances.stderr
    paths = deep.stdout.split()
    assert len(paths) >= 5
    assert all(path.split(":", 2)[-1] in instances.stdout for path in paths)


@pytest.mark.clients
@needs_wbemcli
def test_wbemcli_wrong_password_is_refused(secured):
    result = wbemcli(secured, "ecn", "root/interop:CIM_ObjectManager", password="nope")
    assert result.returncode != 0
    assert USER not in result.stdout and PASSWORD not in result.stderr
