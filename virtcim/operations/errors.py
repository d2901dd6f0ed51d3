"""Turning what providers raise into the CIM errors clients see.

A :class:`pywbem.CIMError` raised by a provider is meant for the client and
passes through untouched, except from an extrinsic method, where only the
codes DSP0200 lists for InvokeMethod may reach the client (the others become
``CIM_ERR_FAILED``, message kept). Anything else is a bug in the provider: the
client gets ``CIM_ERR_FAILED`` naming the class and the cause, never a
traceback; the log gets the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pywbem import (
    CIM_ERR_ACCESS_DENIED,
    CIM_ERR_FAILED,
    CIM_ERR_INVALID_NAMESPACE,
    CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_METHOD_NOT_AVAILABLE,
    CIM_ERR_METHOD_NOT_FOUND,
    CIM_ERR_NOT_FOUND,
    CIMError,
)

from virtcim.provider import UnsupportedMethod

__all__ = ["INVOKE_METHOD_ERRORS", "guarded", "method_errors", "provider_errors"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@contextmanager
def provider_errors(classname: str) -> Iterator[None]:
    """Report anything but a ``CIMError`` raised inside as ``CIM_ERR_FAILED``."""
    try:
        yield
    except CIMError:
        raise
    except Exception as exc:
        log.error("provider of %s failed", classname, exc_info=True)
        raise CIMError(CIM_ERR_FAILED, f"provider of {classname} failed: {exc}") from None


def guarded(classname: str, items: Iterable[T]) -> Iterator[T]:
    """``items`` consumed lazily, with provider failures reported as CIM errors.

    The provider's own generator runs while the response is being written,
    so the guard has to sit inside the iteration, not around the call.
    """
    with provider_errors(classname):
        yield from items


#: The status codes DSP0200 gives InvokeMethod, less ``CIM_ERR_NOT_SUPPORTED``
#: (there: the server has no extrinsic methods, which is never so here).
INVOKE_METHOD_ERRORS = frozenset({
    CIM_ERR_ACCESS_DENIED, CIM_ERR_INVALID_NAMESPACE, CIM_ERR_INVALID_PARAMETER,
    CIM_ERR_NOT_FOUND, CIM_ERR_METHOD_NOT_FOUND, CIM_ERR_METHOD_NOT_AVAILABLE, CIM_ERR_FAILED,
})  # fmt: skip


@contextmanager
def method_errors() -> Iterator[None]:
    """Errors of an extrinsic method with the codes DSP0200 allows for InvokeMethod.

    A provider may raise any code (a libvirt refusal is translated to
    ``CIM_ERR_ALREADY_EXISTS`` or ``CIM_ERR_NOT_SUPPORTED`` for intrinsic
    operations' sake); a method's client gets ``CIM_ERR_FAILED`` with the
    same message instead; a method the provider does not support at all
    (:class:`~virtcim.provider.UnsupportedMethod`) stays ``CIM_ERR_NOT_SUPPORTED``.
    """
    try:
        yield
    except CIMError as error:
        if error.status_code in INVOKE_METHOD_ERRORS or isinstance(error, UnsupportedMethod):
            raise
        raise CIMError(CIM_ERR_FAILED, error.status_description) from None
