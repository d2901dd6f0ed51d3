"""Indication filters: a filter's query, read once when the filter is created.

A filter (``CIM_IndicationFilter``) holds a query in WQL or DMTF:CQL that
selects indications: ``SELECT * FROM CIM_InstModification WHERE
SourceInstance ISA CIM_ComputerSystem AND SourceInstance.EnabledState = 2``.
:func:`compile_filter` reads and checks it with the query engine
(:mod:`virtcim.query`) against the classes of the interop namespace, and
gives a :class:`FilterQuery` whose :meth:`~FilterQuery.matches` is asked
of every indication produced: the indication's class must be the one the
query names or a subclass, and its condition true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from pywbem import CIM_ERR_INVALID_QUERY, CIMError, CIMInstance, CIMQualifier

from virtcim.operations.queries import NamespaceSchema
from virtcim.query import QUERY_LANGUAGES, Query, parse
from virtcim.query.conditions import And, Declaration, Isa, Path
from virtcim.repository.schema import Repository

__all__ = ["INDICATION_ROOT", "FilterQuery", "compile_filter"]

#: Every indication class derives from it.
INDICATION_ROOT = "CIM_Indication"
_SOURCE = "sourceinstance"


class FilterQuery(Protocol):
    """A filter's query, as read when the filter was created."""

    @property
    def class_name(self) -> str:
        """The indication class it selects (with its subclasses)."""

    def selects_class(self, classname: str, source: str | None = None) -> bool:
        """Whether indications of ``classname`` can be selected (its condition aside) and,
        with ``source``, whether a ``SourceInstance`` of that class passes the condition's
        ``SourceInstance ISA`` tests that must hold (its other tests are not looked at)."""

    def matches(self, indication: CIMInstance) -> bool:
        """Whether ``indication`` is one the filter selects."""


class IndicationSchema(NamespaceSchema):
    """The classes of the interop namespace as a filter's query is checked against them.

    ``SourceInstance`` and ``PreviousInstance`` embed the changed instance:
    their declarations say so with the ``EmbeddedObject`` qualifier, which
    pywbem's MOF compiler keeps but does not turn into the property's
    ``embedded_object``; the query engine reads the latter.
    """

    def properties(self, classname: str) -> Mapping[str, Declaration] | None:
        found = super().properties(classname)
        if found is None:
            return None
        cls = self._repository.get_class(self._namespace, classname)
        return {name: _embedding(decl, cls.properties[decl.name].qualifiers)
                for name, decl in found.items()}


def _embedding(decl: Declaration, qualifiers: Mapping[str, CIMQualifier]) -> Declaration:
    embedded = qualifiers.get("EmbeddedObject")
    if decl.embedded_object or embedded is None or not embedded.value:
        return decl
    return replace(decl, embedded_object="object")  # type: ignore[type-var]


@dataclass(frozen=True)
class _IndicationQuery:
    query: Query
    class_name: str
    schema: IndicationSchema

    def selects_class(self, classname: str, source: str | None = None) -> bool:
        if not self.schema.is_a(classname, self.class_name):
            return False
        return source is None or all(
            self.schema.is_a(source, required) or self.schema.is_a(required, source)
            for required in _required_source_classes(self.query))

    def matches(self, indication: CIMInstance) -> bool:
        return self.selects_class(indication.classname) and self.query.matches(indication)


def _required_source_classes(query: Query) -> list[str]:
    """The classes of the ``SourceInstance ISA`` tests ANDed at the top of ``query``'s
    condition: a source instance of a class unrelated to one of them is never selected."""
    condition = query.condition
    parts = condition.parts if isinstance(condition, And) else (condition,) if condition else ()
    return [part.classname for part in parts
            if isinstance(part, Isa) and isinstance(part.operand, Path)
            and part.operand.property_name(query.names) == _SOURCE]


def compile_filter(language: str, text: str, repository: Repository, namespace: str) -> FilterQuery:
    """The query ``text`` in ``language``, checked against the classes of ``namespace``.

    ``CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`` for a language other than WQL
    and DMTF:CQL; ``CIM_ERR_INVALID_QUERY`` naming the reason for a query
    that cannot be read or selects from a class that is no indication class.
    """
    schema = IndicationSchema(repository, namespace)
    query = parse(language, text, schema=schema, accept=QUERY_LANGUAGES)
    class_name = query.class_name
    if class_name is None or not schema.is_a(class_name, INDICATION_ROOT):
        raise CIMError(CIM_ERR_INVALID_QUERY, f"invalid filter query {text!r}: {class_name} "
                                              f"is not an indication class")
    return _IndicationQuery(query, str(class_name), schema)
