"""Turning what providers raise into the CIM errors clients see.

A :class:`pywbem.CIMError` raised by a provider is meant for the client and
passes through untouched. Anything else is a bug in the provider: the client
gets ``CIM_ERR_FAILED`` naming the class and the cause, never a traceback;
the log gets the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pywbem import CIM_ERR_FAILED, CIMError

__all__ = ["guarded", "provider_errors"]

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
