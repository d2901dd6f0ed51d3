"""Failure injection at each libvirt call, and the whole libvirt state to compare around it.

:class:`Faults` hands out proxies over libvirt-python's ``virConnect``,
``virDomain``, ``virStoragePool``, ``virStorageVol`` and ``virNetwork``: every
call through them is counted, and the one armed (:meth:`Faults.arm`) raises
``libvirt.libvirtError`` instead of reaching libvirt. :func:`fail_each_call`
runs a method once per libvirt call it makes, failing that call, and checks
that it either fails with a CIM error naming the failure and leaves
:func:`libvirt_state` exactly as it was, or completes; it stops at the first
run that reaches no armed call. Events reach the adapter on libvirt's own
objects, so they are never counted nor failed.

Used by the provider tests on the test driver and by the QEMU tests.
"""

from __future__ import annotations

import difflib
import itertools
import pprint
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import libvirt
import pytest
from lxml import etree
from pywbem import CIMError

#: What every injected failure says; a CIM error that reports one carries it.
INJECTED = "injected failure"
#: Calls that are no libvirt operation a method makes: which connection a
#: handle belongs to, and the adapter's probe of a connection after an error.
_NOT_COUNTED = frozenset({"connect", "isAlive", "close"})
_WRAPPED = (libvirt.virConnect, libvirt.virDomain, libvirt.virStoragePool,
            libvirt.virStorageVol, libvirt.virNetwork)
#: Runs of one method at most: no method here makes this many libvirt calls.
MAX_CALLS = 400

#: A pool's sizes are its file system's on a real host, which others write to.
_HOST_SIZES = ("capacity", "allocation", "available")
_SECURE = libvirt.VIR_DOMAIN_XML_SECURE
_INACTIVE = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE


class Faults:
    """Counts the libvirt calls made through its proxies and fails the armed ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[str] = []
        self._fail_at: int | None = None
        self._and_after = False
        #: The first call failed since :meth:`arm` (``None``: none was reached).
        self.failed: str | None = None

    def arm(self, index: int, *, and_after: bool = False) -> None:
        """Fail the ``index``-th call from now (1 for the first), and with
        ``and_after`` every call after it too (so that undoing fails as well)."""
        with self._lock:
            self.calls = []
            self._fail_at = index
            self._and_after = and_after
            self.failed = None

    def disarm(self) -> str | None:
        """Stop failing calls; the first call that was failed, if any."""
        with self._lock:
            self._fail_at = None
            return self.failed

    def connection(self, conn: libvirt.virConnect) -> Proxy:
        """``conn`` behind a proxy whose calls (and those of what it returns) are counted."""
        return Proxy(conn, self, None)

    def before(self, call: str) -> None:
        with self._lock:
            if self._fail_at is None:
                return
            self.calls.append(call)
            index = len(self.calls)
            failing = index == self._fail_at or (self._and_after and index > self._fail_at)
            if not failing:
                return
            if self.failed is None:
                self.failed = f"{call} (call {index})"
        raise injected_error(f"{INJECTED} in {call} (call {index})")


def injected_error(message: str) -> libvirt.libvirtError:
    """A ``libvirtError`` as libvirt raises one: an internal error with ``message``."""
    error = libvirt.libvirtError(message)
    error.err = (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_NONE, message,
                 libvirt.VIR_ERR_ERROR, None, None, None, -1, -1)
    error.args = (message,)
    return error


class Proxy:
    """A libvirt object whose method calls go through :meth:`Faults.before`."""

    def __init__(self, target: Any, faults: Faults, conn: Proxy | None) -> None:
        self._target = target
        self._faults = faults
        self._conn = conn if conn is not None else self

    @property
    def target(self) -> Any:
        """The libvirt object itself, for calls that must not be counted."""
        return self._target

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute
        if name == "connect":
            return lambda: self._conn
        label = f"{type(self._target).__name__}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            if name not in _NOT_COUNTED:
                self._faults.before(label)
            args = tuple(_unwrapped(arg) for arg in args)
            return self._wrapped(attribute(*args, **kwargs))

        return call

    def _wrapped(self, value: Any) -> Any:
        if isinstance(value, _WRAPPED):
            return Proxy(value, self._faults, self._conn)
        if isinstance(value, list):
            return [self._wrapped(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self._wrapped(item) for item in value)
        return value


def _unwrapped(value: Any) -> Any:
    return value.target if isinstance(value, Proxy) else value


@contextmanager
def counted_connections(monkeypatch: pytest.MonkeyPatch, faults: Faults, uri: str
                        ) -> Iterator[list[libvirt.virConnect]]:
    """``libvirt.open(uri)`` hands out proxies of ``faults``; yields the opened
    connections (libvirt's own objects, newest last), for reading the state."""
    real_open = libvirt.open
    opened: list[libvirt.virConnect] = []

    def open_counted(name: str | None = None) -> Any:
        conn = real_open(name)
        if name != uri:
            return conn
        opened.append(conn)
        return faults.connection(conn)

    monkeypatch.setattr(libvirt, "open", open_counted)
    yield opened


# --- the state compared ----------------------------------------------------------------------


def libvirt_state(conn: libvirt.virConnect, *, only: Callable[[str], bool] = lambda _: True
                  ) -> dict[str, Any]:
    """Every domain's live and persistent XML, state and autostart flag, every storage
    pool's and network's XML and flags, and every volume's XML, by object.

    ``only`` picks the objects by name (a shared daemon holds others' too).
    """
    state: dict[str, Any] = {}
    for domain in conn.listAllDomains():
        if only(domain.name()):
            state[f"guest {domain.name()}"] = _domain_state(domain)
    for pool in conn.listAllStoragePools():
        if only(pool.name()):
            state[f"storage pool {pool.name()}"] = _pool_state(pool)
    for network in conn.listAllNetworks():
        if only(network.name()):
            state[f"network {network.name()}"] = _network_state(network)
    return state


def _domain_state(domain: libvirt.virDomain) -> dict[str, Any]:
    persistent = bool(domain.isPersistent())
    active = bool(domain.isActive())
    return {
        "uuid": domain.UUIDString(),
        "state": domain.state()[0],
        "persistent": persistent,
        "autostart": bool(domain.autostart()) if persistent else None,
        "live": domain.XMLDesc(_SECURE) if active else None,
        "config": domain.XMLDesc(_INACTIVE) if persistent else None,
        "scheduler": _scheduler(domain) if active else None,
    }


def _scheduler(domain: libvirt.virDomain) -> dict[str, Any] | None:
    return _where_offered(domain.schedulerParameters)


def _where_offered(call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``, or ``None`` where the driver has no such call or flag
    (the test driver keeps no separate persistent XML of a pool or network)."""
    try:
        return call(*args)
    except libvirt.libvirtError as error:
        if error.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
            raise
        return None


def _pool_state(pool: libvirt.virStoragePool) -> dict[str, Any]:
    persistent = bool(pool.isPersistent())
    active = bool(pool.isActive())
    return {
        "active": active,
        "persistent": persistent,
        "autostart": bool(pool.autostart()) if persistent else None,
        "xml": _without(pool.XMLDesc(0), *_HOST_SIZES),
        "config": _without(_where_offered(pool.XMLDesc, libvirt.VIR_STORAGE_XML_INACTIVE)
                           or "<pool/>", *_HOST_SIZES) if persistent else None,
        "volumes": {volume.name(): _without(volume.XMLDesc(0), "target/timestamps")
                    for volume in pool.listAllVolumes()} if active else None,
    }


def _network_state(network: libvirt.virNetwork) -> dict[str, Any]:
    persistent = bool(network.isPersistent())
    return {
        "active": bool(network.isActive()),
        "persistent": persistent,
        "autostart": bool(network.autostart()) if persistent else None,
        "xml": network.XMLDesc(0),
        "config": _where_offered(network.XMLDesc, libvirt.VIR_NETWORK_XML_INACTIVE)
        if persistent else None,
    }


def _without(xml: str, *paths: str) -> str:
    """``xml`` without the elements at ``paths``: what changes with no one changing libvirt
    (the free space of a pool's file system, when a volume's file was last read)."""
    root = etree.fromstring(xml)
    for path in paths:
        for element in root.findall(path):
            element.getparent().remove(element)
    return etree.tostring(root, encoding="unicode")


def difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The objects that differ, as a unified diff of their recorded state."""
    lines = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            lines.extend(difflib.unified_diff(
                pprint.pformat(before.get(name), width=120).splitlines(),
                pprint.pformat(after.get(name), width=120).splitlines(),
                f"{name} before", f"{name} after", lineterm=""))
    return "\n".join(lines)


# --- the runs --------------------------------------------------------------------------------


@dataclass
class Injection:
    """What :func:`fail_each_call` saw: the calls of the complete run, the failed runs."""

    calls: list[str] = field(default_factory=list)
    #: For each failed run: the call failed and the CIM error the method gave.
    failures: list[tuple[str, CIMError]] = field(default_factory=list)
    #: The calls whose failure could not be undone (undoing failed too), and was said so.
    undone_partly: list[str] = field(default_factory=list)


def fail_each_call(
    faults: Faults,
    invoke: Callable[[], object],
    state: Callable[[], dict[str, Any]],
    reset: Callable[[], None] = lambda: None,
    *,
    expected_error: int | None = None,
    undo_failure: str | None = None,
) -> Injection:
    """Run ``invoke`` with its 1st, 2nd, ... libvirt call failing, until a run reaches
    no failing call.

    ``reset`` runs before each run and brings the world to where the method
    starts. A run that fails must raise a CIM error naming the injected
    failure and leave ``state()`` as it was before the run; the run that
    reaches no failing call must complete (or, with ``expected_error``, fail
    with that status, as a method that is not supported does).

    With ``undo_failure``, every call after the failing one fails too, so
    that undoing fails as well: a run may then leave libvirt changed, but
    only with an error that says so, containing ``undo_failure``.
    """
    seen = Injection()
    for index in itertools.count(1):
        assert index <= MAX_CALLS, f"still failing calls after {MAX_CALLS} runs"
        reset()
        before = state()
        faults.arm(index, and_after=undo_failure is not None)
        error: CIMError | None = None
        try:
            invoke()
        except CIMError as raised:
            error = raised
        finally:
            failed = faults.disarm()
            calls = list(faults.calls)
        if failed is None:
            if expected_error is None:
                assert error is None, f"the run with no failure failed: {error}"
            else:
                assert error is not None and error.status_code == expected_error, error
            seen.calls = calls
            return seen
        assert error is not None, f"completed although {failed} failed"
        assert INJECTED in error.status_description, (
            f"the error for {failed} does not report it: {error}")
        seen.failures.append((failed, error))
        if undo_failure is not None and undo_failure in error.status_description:
            seen.undone_partly.append(failed)
            continue
        after = state()
        assert after == before, f"{failed} left libvirt changed:\n{difference(before, after)}"
    raise AssertionError("unreachable")
