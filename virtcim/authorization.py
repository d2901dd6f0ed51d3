"""Who may do what: roles per namespace for users and groups (authorisation).

A role is ``read-only`` (the intrinsic operations that read: classes,
qualifiers, instances, properties, associations, queries, pulled
enumerations) or ``full`` (also CreateInstance, ModifyInstance,
DeleteInstance, SetProperty, class and qualifier changes and every
extrinsic method, InvokeMethod). Roles are granted per namespace, or for
``*`` every namespace, to user names, to ``@group`` (the members of a group
of the host's group database, for PAM and users-file users alike) and to
``*`` (every authenticated user)::

    [roles."*"]
    read-only = ["@monitoring"]
    [roles."root/virt"]
    full = ["alice", "@libvirt"]

A user given no role in a namespace gets ``CIM_ERR_ACCESS_DENIED`` for
everything there. Without any ``[roles]`` every authenticated user has full
access, as OpenPegasus without namespace authorisation. Anonymous requests
(``auth none``, loopback only) have full access. A read-only server
(``--read-only``) caps everyone at ``read-only``.
"""

from __future__ import annotations

import enum
import grp
import logging
import os
import pwd
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from pywbem import CIM_ERR_ACCESS_DENIED, CIMError

__all__ = ["READ_OPERATIONS", "Authorizer", "Role", "host_groups"]

log = logging.getLogger(__name__)

#: The intrinsic operations a read-only role may call; every other operation changes something.
READ_OPERATIONS = frozenset({
    "GetClass", "EnumerateClasses", "EnumerateClassNames", "GetQualifier", "EnumerateQualifiers",
    "GetInstance", "EnumerateInstances", "EnumerateInstanceNames", "GetProperty",
    "Associators", "AssociatorNames", "References", "ReferenceNames", "ExecQuery",
    "OpenEnumerateInstances", "OpenEnumerateInstancePaths", "OpenAssociatorInstances",
    "OpenAssociatorInstancePaths", "OpenReferenceInstances", "OpenReferenceInstancePaths",
    "OpenQueryInstances", "PullInstancesWithPath", "PullInstancePaths", "PullInstances",
    "CloseEnumeration", "EnumerationCount",
})  # fmt: skip

ALL_NAMESPACES = "*"
EVERY_USER = "*"
#: How long a user's groups are remembered.
_GROUPS_SECONDS = 60.0


class Role(enum.IntEnum):
    """What a user may do in a namespace; a larger role includes the smaller."""

    READ_ONLY = 1
    FULL = 2

    @classmethod
    def named(cls, name: str) -> Role:
        try:
            return {"read-only": cls.READ_ONLY, "full": cls.FULL}[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a role (read-only, full)") from None


class Authorizer:
    """Decides each request from the roles of its user in its namespace.

    ``roles`` maps a namespace (or ``*``) to role names (``read-only``,
    ``full``) to members; ``None`` means "not configured" (see the module
    docstring). ``groups`` gives the groups of a user (the host's, by
    default). Namespaces compare without case and surrounding slashes; the
    caller passes the canonical name of an aliased namespace.
    """

    def __init__(
        self,
        roles: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        read_only: bool = False,
        groups: Callable[[str], frozenset[str]] | None = None,
    ) -> None:
        self.read_only = read_only
        self._grants: dict[str, list[tuple[str, Role]]] | None = None
        if roles is not None:
            self._grants = {}
            for namespace, members in roles.items():
                grants = self._grants.setdefault(_normal(namespace), [])
                for role_name, names in members.items():
                    role = Role.named(role_name)
                    grants.extend((name, role) for name in names)
        self._groups = _Remembered(groups or host_groups)

    @property
    def configured(self) -> bool:
        return self._grants is not None

    def role(self, user: str | None, namespace: str) -> Role | None:
        """``user``'s role in ``namespace``; ``None`` for none at all."""
        role: Role | None = Role.FULL
        if user is not None and self._grants is not None:
            role = self._granted(user, namespace)
        if role is not None and self.read_only:
            role = Role.READ_ONLY
        return role

    def check(self, user: str | None, namespace: str, operation: str | None) -> None:
        """Raise ``CIM_ERR_ACCESS_DENIED`` unless ``user`` may call ``operation``
        (an intrinsic operation's name; ``None`` for an extrinsic method) in ``namespace``."""
        needed = Role.READ_ONLY if operation in READ_OPERATIONS else Role.FULL
        role = self.role(user, namespace)
        if role is not None and role >= needed:
            return
        what = operation or "InvokeMethod"
        if self.read_only and role is not None:
            reason = "the server is read-only"
        elif role is None:
            reason = f"user {user!r} has no role in namespace {namespace}"
        else:
            reason = f"user {user!r} is read-only in namespace {namespace}"
        log.info("access denied: %s in %s for user %r: %s", what, namespace, user, reason)
        raise CIMError(CIM_ERR_ACCESS_DENIED, f"{what} is not allowed: {reason}")

    def _granted(self, user: str, namespace: str) -> Role | None:
        assert self._grants is not None
        grants = self._grants.get(_normal(namespace), []) + self._grants.get(ALL_NAMESPACES, [])
        best: Role | None = None
        for member, role in grants:
            if best is not None and role <= best:
                continue
            if member in (user, EVERY_USER) or (
                member.startswith("@") and member[1:] in self._groups(user)
            ):
                best = role
        return best


def _normal(namespace: str) -> str:
    return namespace.strip("/").lower()


def host_groups(user: str) -> frozenset[str]:
    """The groups of ``user`` in the host's databases (primary and supplementary); none
    for a name the host does not know."""
    try:
        primary = pwd.getpwnam(user).pw_gid
    except KeyError:
        return frozenset(group.gr_name for group in grp.getgrall() if user in group.gr_mem)
    names = set()
    for gid in os.getgrouplist(user, primary):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return frozenset(names)


class _Remembered:
    """A user's groups, asked for again after a minute (lookups may go to LDAP)."""

    def __init__(self, lookup: Callable[[str], frozenset[str]], size: int = 1024) -> None:
        self._lookup = lookup
        self._size = size
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, frozenset[str]]] = {}

    def __call__(self, user: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            known = self._known.get(user)
        if known is not None and known[0] > now:
            return known[1]
        groups = self._lookup(user)
        with self._lock:
            if len(self._known) >= self._size:
                self._known.clear()
            self._known[user] = (now + _GROUPS_SECONDS, groups)
        return groups
