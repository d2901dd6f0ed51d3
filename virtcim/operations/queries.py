"""Queries: ExecQuery, OpenQueryInstances and the FilterQuery of pulled enumerations.

The query engine (:mod:`virtcim.query`) reads and evaluates; this module
feeds it. A query is checked against the class it names before any
provider is asked; the instances of that class and its subclasses are then
enumerated as EnumerateInstances enumerates them (the equalities of the
query offered to providers that look instances up,
:meth:`~virtcim.provider.InstanceProvider.enumerate_where`), tested, and
shown as the query (or the request's PropertyList) asks. Every provider's
instances are filtered here, whatever the provider did with the equalities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from pywbem import CIM_ERR_INVALID_PARAMETER, CIMClass, CIMError, CIMInstance, CIMProperty

from virtcim.operations.instances import InstanceOperations
from virtcim.operations.shaping import FULL_VIEW, InstanceView, Shaper, shaped_class
from virtcim.provider import RequestContext
from virtcim.query import FILTER_LANGUAGES, QUERY_LANGUAGES, Query, parse
from virtcim.query.conditions import Declaration, Type
from virtcim.repository.schema import Repository

__all__ = ["NamespaceSchema", "QueryOperations", "equalities_of"]


class NamespaceSchema:
    """The classes of one namespace, as the query engine asks for them."""

    def __init__(self, repository: Repository, namespace: str) -> None:
        self._repository = repository
        self._namespace = namespace

    def properties(self, classname: str) -> Mapping[str, Declaration] | None:
        if self._repository.find_class(self._namespace, classname) is None:
            return None
        return self._repository.property_types(self._namespace, classname)

    def is_a(self, classname: str, ancestor: str) -> bool:
        return self._repository.is_subclass(self._namespace, classname, ancestor)


class QueryOperations:
    def __init__(self, repository: Repository, shaper: Shaper,
                 instances: InstanceOperations) -> None:
        self._repository = repository
        self._shaper = shaper
        self._instances = instances
        #: Checked queries: consoles and scripts send the same ones again and again.
        self._checked = lru_cache(maxsize=512)(self._check)

    def _check(self, namespace: str, language: str, text: str, class_name: str | None,
               accept: frozenset[str]) -> Query:
        return parse(language, text, schema=NamespaceSchema(self._repository, namespace),
                     class_name=class_name, accept=accept)

    def execute(self, ctx: RequestContext, language: str, text: str
                ) -> tuple[Query, Iterator[CIMInstance]]:
        """The query (WQL or DMTF:CQL) and, lazily, the instances it selects, as it shows them."""
        query = self._checked(ctx.namespace, language, text, None, QUERY_LANGUAGES)
        assert query.class_name is not None  # every WQL and CQL statement names one
        found = self._instances.enumerate(ctx, query.class_name, FULL_VIEW, query.equalities())
        return query, query.select(found)

    def result_class(self, ctx: RequestContext, query: Query) -> CIMClass:
        """OpenQueryInstances' QueryResultClass: the queried class, with the selected properties
        and a property for each column the query computes.

        Named as the class the query names; without qualifiers and methods,
        which the query's instances do not carry.
        """
        assert query.class_name is not None
        cls = self._repository.get_class(ctx.namespace, query.class_name)
        result = shaped_class(cls, local_only=False, include_qualifiers=False,
                              include_class_origin=False, property_list=query.property_list)
        result.methods.clear()
        for name, holds in query.computed_columns():
            result.properties[name] = _declaration(name, holds)
        return result

    def filter(self, ctx: RequestContext, language: str | None, text: str | None,
               classname: str | None) -> Query | None:
        """A pulled enumeration's FilterQuery (DMTF:FQL) on instances of ``classname``.

        ``None`` when the request has none. ``classname`` (when known) is the
        class its properties are checked against.
        """
        if language is None and text is None:
            return None
        if language is None or text is None:
            given, missing = ("FilterQuery", "FilterQueryLanguage") if language is None else (
                "FilterQueryLanguage", "FilterQuery")
            raise CIMError(CIM_ERR_INVALID_PARAMETER, f"{given} is given without {missing}")
        return self._checked(ctx.namespace, language, text, classname, FILTER_LANGUAGES)

    def filtered(self, query: Query | None, view: InstanceView,
                 results: Callable[[InstanceView], Iterator[CIMInstance]]
                 ) -> Iterator[CIMInstance]:
        """``results(view)``, or, with a filter, those of ``results`` the filter selects.

        The filter is tested on whole instances (its properties need not be
        among those the view shows), which are then shaped to the view.
        """
        if query is None:
            return results(view)
        return self._kept(query, results(FULL_VIEW), view)

    def _kept(self, query: Query, found: Iterator[CIMInstance], view: InstanceView
              ) -> Iterator[CIMInstance]:
        for inst in found:
            if query.matches(inst):
                yield inst if view == FULL_VIEW else self._shaper.instance(
                    inst.path.namespace, inst.classname, inst, view)


def _declaration(name: str, holds: Type | None) -> CIMProperty:
    """The result class's property for a computed column holding ``holds``."""
    if holds is None or holds.kind == "null":
        return CIMProperty(name, None, type="string")
    if holds.kind == "instance":
        return CIMProperty(name, None, type="string", is_array=holds.is_array,
                           embedded_object="instance")
    return CIMProperty(name, None, type=holds.cimtype, is_array=holds.is_array)


def equalities_of(query: Query | None) -> Mapping[str, frozenset[Any]] | None:
    """What a filter tells providers that look instances up (``None``: no filter)."""
    return None if query is None else query.equalities()
