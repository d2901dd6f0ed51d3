"""The one place where libvirt errors become CIM errors.

A client sees a DSP0200 status code chosen from libvirt's error code and a
message naming the object, the hypervisor URI and libvirt's own words::

    no guest 'web1' on qemu:///system: Domain not found: no domain with matching name 'web1'

Use :func:`translate` around libvirt calls; :class:`Hypervisor.run
<providers.virt.connection.Hypervisor.run>` does so for every call it makes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import libvirt
from pywbem import (
    CIM_ERR_ACCESS_DENIED,
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMError,
)

__all__ = [
    "NoSuchGuest",
    "cim_error",
    "ignoring",
    "is_connection_error",
    "translate",
    "unreachable",
]

_log = logging.getLogger(__name__)

_NOT_FOUND = frozenset(
    {
        libvirt.VIR_ERR_NO_DOMAIN,
        libvirt.VIR_ERR_NO_STORAGE_POOL,
        libvirt.VIR_ERR_NO_STORAGE_VOL,
        libvirt.VIR_ERR_NO_NETWORK,
        libvirt.VIR_ERR_NO_NETWORK_PORT,
        libvirt.VIR_ERR_NO_INTERFACE,
        libvirt.VIR_ERR_NO_NODE_DEVICE,
        libvirt.VIR_ERR_NO_NWFILTER,
        libvirt.VIR_ERR_NO_SECRET,
        libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT,
        libvirt.VIR_ERR_NO_DOMAIN_CHECKPOINT,
        libvirt.VIR_ERR_NO_DOMAIN_METADATA,
    }
)
_INVALID_PARAMETER = frozenset(
    {
        libvirt.VIR_ERR_INVALID_ARG,
        libvirt.VIR_ERR_XML_ERROR,
        libvirt.VIR_ERR_XML_DETAIL,
        libvirt.VIR_ERR_XML_INVALID_SCHEMA,
        libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
        libvirt.VIR_ERR_INVALID_MAC,
    }
)
_NOT_SUPPORTED = frozenset(
    {
        libvirt.VIR_ERR_NO_SUPPORT,
        libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
        libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
    }
)
_ALREADY_EXISTS = frozenset(
    {
        libvirt.VIR_ERR_DOM_EXIST,
        libvirt.VIR_ERR_NETWORK_EXIST,
        libvirt.VIR_ERR_STORAGE_VOL_EXIST,
    }
)
_ACCESS_DENIED = frozenset(
    {
        libvirt.VIR_ERR_ACCESS_DENIED,
        libvirt.VIR_ERR_OPERATION_DENIED,
        libvirt.VIR_ERR_AUTH_FAILED,
    }
)
#: Codes that mean the connection itself is unusable, whatever the call was.
_CONNECTION = frozenset(
    {
        libvirt.VIR_ERR_NO_CONNECT,
        libvirt.VIR_ERR_INVALID_CONN,
        libvirt.VIR_ERR_RPC,
    }
)


class NoSuchGuest(CIMError):
    """``CIM_ERR_NOT_FOUND`` for a guest libvirt does not have (any longer).

    A request that listed guests and then reads each one meets it for a
    guest another client removed in between, and leaves that guest out
    (:meth:`providers.per_guest.PerGuestProvider.instances_of_each`).
    """


def is_connection_error(error: libvirt.libvirtError) -> bool:
    """True when ``error`` says the connection is gone rather than the call wrong."""
    return error.get_error_code() in _CONNECTION


def unreachable(uri: str, error: libvirt.libvirtError | None = None) -> CIMError:
    """``CIM_ERR_FAILED`` for a hypervisor that cannot be reached."""
    detail = f": {_libvirt_text(error)}" if error is not None else ""
    return CIMError(CIM_ERR_FAILED, f"hypervisor at {uri} unreachable{detail}")


def cim_error(
    error: libvirt.libvirtError, what: str, uri: str, action: str | None = None
) -> CIMError:
    """The CIM error for libvirt ``error`` raised while working on ``what``.

    ``what`` names the object (``"guest 'web1'"``); ``action``, when given,
    says what was attempted (``"start"`` -> "cannot start guest 'web1' ...").
    """
    code = error.get_error_code()
    text = _libvirt_text(error)
    _log.debug("libvirt error %s on %s at %s: %s", code, what, uri, text)
    if code in _CONNECTION:
        return unreachable(uri, error)
    if code in _NOT_FOUND and not (action and _about_another_object(code, what)):
        not_found = NoSuchGuest if code == libvirt.VIR_ERR_NO_DOMAIN else CIMError
        return not_found(CIM_ERR_NOT_FOUND, f"no {what} on {uri}: {text}")
    subject = f"cannot {action} {what}" if action else what
    message = f"{subject} on {uri}: {text}"
    if code in _INVALID_PARAMETER:
        return CIMError(CIM_ERR_INVALID_PARAMETER, message)
    if code in _NOT_SUPPORTED:
        return CIMError(CIM_ERR_NOT_SUPPORTED, message)
    if code in _ALREADY_EXISTS:
        return CIMError(CIM_ERR_ALREADY_EXISTS, message)
    if code in _ACCESS_DENIED:
        return CIMError(CIM_ERR_ACCESS_DENIED, message)
    return CIMError(CIM_ERR_FAILED, message)


@contextmanager
def translate(what: str, uri: str, action: str | None = None) -> Iterator[None]:
    """Raise any :class:`libvirt.libvirtError` in the block as a :class:`CIMError`.

    Example::

        with translate("guest 'web1'", "qemu:///system", action="start"):
            conn.lookupByName("web1").create()
    """
    try:
        yield
    except libvirt.libvirtError as error:
        raise cim_error(error, what, uri, action) from error


def ignoring(call: Callable[..., Any], *args: Any, level: int = logging.WARNING) -> Any:
    """``call(*args)`` where a libvirt failure must not hide what came before.

    For undoing a failed change and tearing down a dead connection: the
    failure is logged at ``level`` and ``None`` returned.
    """
    try:
        return call(*args)
    except libvirt.libvirtError as error:
        _log.log(level, "ignored: %s", _libvirt_text(error))
        return None


#: The object each not-found code is about, as ``what`` names it ("guest 'web1'").
_NOT_FOUND_SUBJECTS = {
    libvirt.VIR_ERR_NO_DOMAIN: ("guest",),
    libvirt.VIR_ERR_NO_STORAGE_POOL: ("storage pool", "pool"),
    libvirt.VIR_ERR_NO_STORAGE_VOL: ("storage volume", "volume"),
    libvirt.VIR_ERR_NO_NETWORK: ("network",),
}


def _about_another_object(code: int, what: str) -> bool:
    """Whether a not-found error met while acting on ``what`` is about something else.

    Starting a guest whose network is missing fails (``CIM_ERR_FAILED``): the
    guest is there, so it is no ``CIM_ERR_NOT_FOUND``.
    """
    subjects = _NOT_FOUND_SUBJECTS.get(code)
    return subjects is not None and not what.lower().startswith(subjects)


def _libvirt_text(error: libvirt.libvirtError) -> str:
    return error.get_error_message() or str(error)
