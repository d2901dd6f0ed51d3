"""Roles per namespace: who may read, who may change, and what a read-only server allows."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_ACCESS_DENIED, CIMError

from virtcim.authorization import READ_OPERATIONS, Authorizer, Role, host_groups
from virtcim.operations.params import OPERATIONS

GROUPS = {"dave": frozenset({"libvirt"}), "erin": frozenset({"monitoring", "other"})}
ROLES = {
    "*": {"read-only": ["@monitoring"]},
    "root/virt": {"full": ["alice", "@libvirt"], "read-only": ["bob"]},
    "root/interop": {"read-only": ["*"]},
}
WRITES = {"CreateInstance", "ModifyInstance", "DeleteInstance", "SetProperty", "CreateClass",
          "ModifyClass", "DeleteClass", "SetQualifier", "DeleteQualifier"}


def authorizer(**kwargs) -> Authorizer:
    return Authorizer(kwargs.pop("roles", ROLES), groups=lambda user: GROUPS.get(user, frozenset()),
                      **kwargs)


def denied(check) -> CIMError:
    with pytest.raises(CIMError) as raised:
        check()
    assert raised.value.status_code == CIM_ERR_ACCESS_DENIED
    return raised.value


@pytest.mark.parametrize(("user", "namespace", "role"), [
    ("alice", "root/virt", Role.FULL),
    ("alice", "/Root/Virt", Role.FULL),
    ("dave", "root/virt", Role.FULL),  # through @libvirt
    ("bob", "root/virt", Role.READ_ONLY),
    ("erin", "root/virt", Role.READ_ONLY),  # through @monitoring, in every namespace
    ("erin", "root/other", Role.READ_ONLY),
    ("bob", "root/interop", Role.READ_ONLY),  # through *
    ("alice", "root/other", None),
    ("mallory", "root/virt", None),
])
def test_roles_come_from_names_groups_and_every_namespace(user, namespace, role):
    assert authorizer().role(user, namespace) is role


def test_reads_need_a_role_and_changes_and_methods_a_full_one():
    rules = authorizer()
    rules.check("bob", "root/virt", "EnumerateInstances")
    rules.check("alice", "root/virt", "DeleteInstance")
    rules.check("alice", "root/virt", None)
    assert "read-only" in denied(lambda: rules.check("bob", "root/virt", "ModifyInstance")).args[1]
    denied(lambda: rules.check("bob", "root/virt", None))  # InvokeMethod
    assert "no role" in denied(lambda: rules.check("mallory", "root/virt", "GetInstance")).args[1]


@pytest.mark.parametrize("operation", sorted(WRITES))
def test_every_change_is_denied_to_a_read_only_user(operation):
    denied(lambda: authorizer().check("bob", "root/virt", operation))


def test_every_operation_is_a_read_or_a_change():
    assert set(OPERATIONS) == READ_OPERATIONS | WRITES
    assert not READ_OPERATIONS & WRITES


def test_without_roles_every_user_and_anonymous_has_full_access():
    rules = Authorizer()
    assert not rules.configured
    rules.check("anyone", "root/virt", "DeleteInstance")
    rules.check(None, "root/virt", None)


def test_anonymous_requests_have_full_access_even_with_roles():
    authorizer().check(None, "root/virt", "DeleteInstance")


def test_a_read_only_server_denies_changes_to_everyone():
    rules = authorizer(read_only=True)
    rules.check("alice", "root/virt", "GetInstance")
    assert "read-only" in denied(lambda: rules.check("alice", "root/virt", None)).args[1]
    denied(lambda: rules.check(None, "root/virt", "CreateInstance"))
    denied(lambda: Authorizer(read_only=True).check("x", "root/virt", "SetProperty"))


def test_unknown_role_names_are_refused():
    with pytest.raises(ValueError, match="not a role"):
        Authorizer({"*": {"admin": ["alice"]}})


def test_host_groups_of_root_and_of_a_name_the_host_does_not_know():
    assert "root" in host_groups("root")
    assert host_groups("no-such-user-virtcim") == frozenset()
