"""Undo logs: a change made of several libvirt calls is undone as a whole when one fails.

:class:`UndoLog` runs the undo steps recorded in a block, newest first, when
the block fails; :class:`Transaction` also records how to undo each change
made through the domains it tracks and redefines their original XML, so a
failing multi-step change leaves libvirt as it was. It needs of domains and
of the connection only the small protocols below.

A step is recorded before the libvirt call it undoes wherever the undo is
harmless when the call did not happen (undefining a definition that was
never made): a call can take effect in libvirt and still fail on the way
back. An undo step that fails is not hidden behind the error that started
the rollback: the block raises ``CIM_ERR_FAILED`` saying what could not be
undone, so a client knows libvirt may be left changed.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from pywbem import CIM_ERR_FAILED, CIM_ERR_NOT_FOUND, CIMError

from providers.virt.domainxml import DomainXML

__all__ = ["Definitions", "Journaled", "Transaction", "UndoLog"]

_log = logging.getLogger(__name__)


class Journaled(Protocol):
    """A domain whose changes a :class:`Transaction` can undo."""

    name: str
    uuid: str

    def is_persistent(self) -> bool: ...

    def config(self) -> DomainXML: ...

    def autostart(self) -> bool: ...

    def set_autostart(self, enabled: bool) -> None: ...

    def undefine(self) -> None: ...

    def journal_to(self, journal: Transaction | None) -> None: ...


D = TypeVar("D", bound=Journaled)
D_co = TypeVar("D_co", bound=Journaled, covariant=True)


class Definitions(Protocol[D_co]):
    """What a :class:`Transaction` needs of the connection: defining and finding domains."""

    uri: str

    def define(self, xml: DomainXML) -> D_co: ...

    def define_xml(self, xml: DomainXML) -> str: ...

    def domain(self, name: str) -> D_co: ...

    def domain_by_uuid(self, uuid: str) -> D_co: ...


class UndoLog:
    """Undo steps for a change made of several libvirt calls, on ``uri``.

    Used as a context manager. When the block raises, the steps recorded in
    it run newest first; every step runs even when an earlier one fails.
    The block's exception is then re-raised, or, when a step failed,
    ``CIM_ERR_FAILED`` naming both the failure and what could not be undone.
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._undo: list[tuple[str, Callable[[], Any]]] = []

    def __enter__(self) -> UndoLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        if exc is None:
            return
        failures = self.rollback()
        if failures:
            cause = exc.status_description if isinstance(exc, CIMError) else str(exc)
            raise CIMError(CIM_ERR_FAILED, f"{cause}; undoing the change failed too, so "
                                           f"libvirt at {self.uri} may be left changed: "
                                           f"{'; '.join(failures)}") from exc

    def record(self, description: str, undo: Callable[[], Any]) -> None:
        """Add an undo step (run in reverse order of recording on failure)."""
        self._undo.append((description, undo))

    def rollback(self) -> list[str]:
        """Run every undo step, newest first; what could not be undone, and why."""
        failures = []
        while self._undo:
            description, undo = self._undo.pop()
            try:
                undo()
            except Exception as error:
                _log.exception("rollback on %s: could not %s", self.uri, description)
                reason = error.status_description if isinstance(error, CIMError) else str(error)
                failures.append(f"could not {description}: {reason}")
        return failures


class Transaction(UndoLog, Generic[D]):
    """Undo log for a change of guests made of several libvirt calls.

    Domains passed to :meth:`track` record how to undo each change made
    through them; :meth:`define` records how to undo a definition. When the
    block raises, the undo steps run newest first: live changes are reversed
    (where libvirt can: attach/detach, memory, vCPUs, start/destroy,
    pause/resume), then each tracked domain's original persistent XML is
    redefined (and its autostart flag set back), and domains defined inside
    the block are undefined (see :class:`UndoLog` for a step that fails).
    """

    def __init__(self, hypervisor: Definitions[D]) -> None:
        super().__init__(hypervisor.uri)
        self._hypervisor = hypervisor
        self._tracked: list[D] = []

    def __enter__(self) -> Transaction[D]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        # Undoing records nothing: the domains stop journaling first.
        for domain in self._tracked:
            domain.journal_to(None)
        super().__exit__(exc_type, exc, _tb)

    def track(self, domain: D) -> D:
        """Snapshot ``domain``'s definition; its changes from now on are undone on failure."""
        if domain.is_persistent():
            original = domain.config().to_string()
            autostart = domain.autostart()
            self.record(
                f"restore the definition of guest {domain.name!r}",
                lambda: self._restore(original, autostart),
            )
        else:
            self.record(
                f"make guest {domain.name!r} transient again",
                lambda: self._undefine_if_persistent(domain.uuid),
            )
        domain.journal_to(self)
        self._tracked.append(domain)
        return domain

    def define(self, xml: DomainXML) -> D:
        """Define ``xml``; on failure the previous definition (or none) is restored.

        A new definition is given a UUID first, so that its undo is recorded
        before libvirt is asked and finds it whatever happens after, and so
        that libvirt refuses a definition of the same name made meanwhile by
        another request rather than take this one as a change of it.
        """
        existing = self._existing(xml)
        if existing is not None:
            self.track(existing)
            if not xml.uuid:
                xml.set_uuid(existing.uuid)
        else:
            if not xml.uuid:
                xml.set_uuid(str(uuid_module.uuid4()))
            uuid = xml.uuid or ""
            self.record(f"undefine guest {xml.name!r}", lambda: self._undefine_if_persistent(uuid))
        uuid = self._hypervisor.define_xml(xml)
        return self.track_new(self._hypervisor.domain_by_uuid(uuid))

    def track_new(self, domain: D) -> D:
        """Let ``domain``'s later changes be undone without snapshotting its XML."""
        domain.journal_to(self)
        self._tracked.append(domain)
        return domain

    def _existing(self, xml: DomainXML) -> D | None:
        try:
            if xml.uuid:
                return self._hypervisor.domain_by_uuid(xml.uuid)
            return self._hypervisor.domain(xml.name)
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return None
            raise

    def _restore(self, original: str, autostart: bool) -> None:
        domain = self._hypervisor.define(DomainXML.from_string(original))
        if autostart and not domain.autostart():
            domain.set_autostart(True)

    def _undefine_if_persistent(self, uuid: str) -> None:
        try:
            domain = self._hypervisor.domain_by_uuid(uuid)
        except CIMError as error:
            if error.status_code == CIM_ERR_NOT_FOUND:
                return  # never defined, or gone already: nothing to undo
            raise
        if domain.is_persistent():
            domain.undefine()
