"""Queries: WQL, DMTF:CQL (DSP0202) and DMTF:FQL (DSP0212), parsed and evaluated, no I/O.

.. code-block:: python

    query = parse("DMTF:CQL", "SELECT Name FROM CIM_ComputerSystem WHERE EnabledState = 2",
                  schema=schema)
    selected = [query.project(inst) for inst in instances if query.matches(inst)]

:func:`parse` reads the text with the language's grammar (``*.lark`` here)
and, given a :class:`~virtcim.query.conditions.Schema`, checks it against
the class it names: a syntax error, a property the class lacks or a
comparison that can never be true is ``CIM_ERR_INVALID_QUERY`` naming the
position and the reason; an unknown language is
``CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED``. A :class:`Query` then tells which
instances it selects (:meth:`Query.matches`), what of each it shows
(:meth:`Query.project`: properties, and columns DMTF:CQL computes), their
order (:meth:`Query.sorted`), all of that at once with DISTINCT and FIRST
(:meth:`Query.select`), and which property values every selected instance
has (:meth:`Query.equalities`), for providers that can look those up rather
than list everything.

The operations layer answers ExecQuery, OpenQueryInstances and the
``FilterQuery`` of pulled enumerations with it; indication filters are
queries too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from pywbem import (
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
    CIMProperty,
    cimtype,
)

from virtcim.query.arithmetic import number_type
from virtcim.query.conditions import Checker, Condition, Operand, Schema, Scope, Type, invalid
from virtcim.query.expressions import Column
from virtcim.query.syntax import ClassName, read
from virtcim.query.values import sort_key

__all__ = ["CQL", "FILTER_LANGUAGES", "FQL", "QUERY_LANGUAGES", "WQL", "Query", "Schema",
           "parse"]

WQL = "WQL"
CQL = "DMTF:CQL"
FQL = "DMTF:FQL"
#: The languages of ExecQuery, OpenQueryInstances and indication filters.
QUERY_LANGUAGES = frozenset({WQL, CQL})
#: The languages of the FilterQuery of pulled enumerations.
FILTER_LANGUAGES = frozenset({FQL})

#: Each language by its names, lower-cased: DSP0202's and DSP0212's, and the
#: spellings other servers take (SFCB's ``CQL`` and ``CIM:CQL``).
_NAMES = {"wql": WQL, "dmtf:cql": CQL, "cql": CQL, "cim:cql": CQL, "dmtf:fql": FQL}
_GRAMMARS = {WQL: "wql", CQL: "cql", FQL: "fql"}


def parse(language: str, text: str, *, schema: Schema | None = None,
          class_name: str | None = None,
          accept: frozenset[str] = QUERY_LANGUAGES | FILTER_LANGUAGES) -> Query:
    """The query ``text`` of ``language`` (one of ``accept``, named case-insensitively).

    A filter (DMTF:FQL) names no class: ``class_name`` says which one its
    instances are of. With a ``schema`` the query is checked against that
    class, and ISA follows the schema's class hierarchy (else it compares
    class names only).
    """
    canonical = _NAMES.get(language.strip().lower())
    if canonical is None or canonical not in accept:
        raise CIMError(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
                       f"query language {language!r} is not supported here; "
                       f"use {' or '.join(sorted(accept))}")
    statement = read(_GRAMMARS[canonical], text)
    names = {name.lower() for name in (statement.class_name, statement.alias) if name}
    query = Query(canonical, text, statement.class_name or class_name, frozenset(names),
                  statement.selection, statement.condition, statement.order, schema,
                  statement.distinct, statement.first)
    if schema is not None:
        query = replace(query, column_types=query.check())
    return query


@dataclass(frozen=True)
class Query:
    """A parsed query: what it selects from, which instances, what of each, in what order."""

    language: str
    text: str
    #: The class it selects from (with its subclasses); ``None`` for a filter given none.
    class_name: str | None
    #: Lower-cased names that stand for the instance: the FROM class and its alias.
    names: frozenset[str]
    #: The SELECT list; ``None``: all properties.
    selection: tuple[Column, ...] | None
    condition: Condition | None
    order: tuple[tuple[Operand, bool], ...]
    schema: Schema | None = None
    #: ``SELECT DISTINCT``: equal rows shown once.
    distinct: bool = False
    #: ``SELECT FIRST n``: at most n rows.
    first: int | None = None
    #: What each computed column holds, by its name, lower-cased (when checked).
    column_types: tuple[tuple[str, Type | None], ...] = ()

    def matches(self, instance: CIMInstance) -> bool:
        """Whether the condition is true for ``instance`` (not false, not unknown)."""
        if self.condition is None:
            return True
        return self.condition.evaluate(self._scope(instance)) is True

    def select(self, instances: Iterable[CIMInstance]) -> Iterator[CIMInstance]:
        """What the query shows of ``instances``: those it matches, in its order, projected,
        once each if DISTINCT, the first n if FIRST n."""
        chosen: Iterable[CIMInstance] = (inst for inst in instances if self.matches(inst))
        if self.order:
            chosen = self.sorted(chosen)
        shown: Iterator[CIMInstance] = (self.project(inst) for inst in chosen)
        if self.distinct:
            shown = _distinct(shown)
        return shown if self.first is None else islice(shown, self.first)

    @property
    def property_list(self) -> list[str] | None:
        """The names of the properties shown as they are, lower-cased (``None``: all)."""
        if self.selection is None or any(column.operand is None for column in self.selection):
            return None
        return [name for column in self.selection
                if (name := column.property_name(self.names))]

    def project(self, instance: CIMInstance) -> CIMInstance:
        """``instance`` with the selected properties and computed columns only, in the order
        selected (its path kept)."""
        if self.selection is None:
            return instance
        props = instance.properties
        shown: list[CIMProperty] = []
        for column in self.selection:
            name = column.property_name(self.names)
            if column.operand is None:
                shown.extend(props.values())
            elif name is not None:
                if name in props:
                    shown.append(props[name])
            elif column.alias is not None:  # (an unnamed path that is no property: unchecked)
                shown.append(self._computed(column, column.alias, instance))
        return CIMInstance(instance.classname, path=instance.path, properties=shown)

    def _computed(self, column: Column, name: str, instance: CIMInstance) -> CIMProperty:
        assert column.operand is not None
        value = column.operand.value(self._scope(instance))
        if isinstance(value, CIMInstance):
            return CIMProperty(name, value, embedded_object="instance")
        declared = dict(self.column_types).get(name.lower())
        if declared is not None and declared.kind == "instance":
            return CIMProperty(name, None, type="string", embedded_object="instance")
        cim_type, is_array = (declared.cimtype, declared.is_array) if declared else _typed(value)
        return CIMProperty(name, value, type=cim_type, is_array=is_array)

    def computed_columns(self) -> list[tuple[str, Type | None]]:
        """The columns the query computes rather than selects, each by its name and what it
        holds (when the query was checked against its class)."""
        types = dict(self.column_types)
        return [(column.alias, types.get(column.alias.lower())) for column in self.selection or ()
                if column.operand is not None and column.alias is not None
                and column.property_name(self.names) is None]

    def sorted(self, instances: Iterable[CIMInstance]) -> list[CIMInstance]:
        """``instances`` in ORDER BY's order (NULL first), or as they come without one."""
        ordered = list(instances)
        for operand, descending in reversed(self.order):
            ordered.sort(key=self._key(operand), reverse=descending)
        return ordered

    def _key(self, operand: Operand) -> Callable[[CIMInstance], tuple[int, Any]]:
        return lambda inst: sort_key(operand.value(self._scope(inst)))

    def _scope(self, instance: CIMInstance) -> Scope:
        return Scope(instance, self.schema, self.names)

    def equalities(self) -> Mapping[str, frozenset[Any]]:
        """Property values each selected instance has: by lower-cased name, the values one of
        which it has (see :meth:`~virtcim.query.conditions.Condition.equalities`)."""
        return {} if self.condition is None else self.condition.equalities(self.names)

    def check(self) -> tuple[tuple[str, Type | None], ...]:
        """``CIM_ERR_INVALID_QUERY`` unless every part fits the class (the query's schema's);
        what each computed column holds."""
        assert self.schema is not None
        if self.class_name is None:
            return ()
        if self.schema.properties(self.class_name) is None:
            pos = self.class_name.pos if isinstance(self.class_name, ClassName) else 0
            raise invalid(self.text, pos, f"no class {self.class_name!r}")
        checker = Checker(self.text, self.schema, self.class_name, self.names)
        types: dict[str, Type | None] = {}
        for column in self.selection or ():
            holds = column.check(checker)
            shown = column.alias or column.property_name(self.names)
            if shown is not None and shown.lower() in types:
                raise invalid(self.text, column.pos, f"the column {shown!r} is named twice")
            if shown is not None:
                types[shown.lower()] = holds
        if self.condition is not None:
            self.condition.check(checker)
        for operand, _ in self.order:
            operand.check(checker)
        return tuple(types.items())


def _typed(value: Any) -> tuple[str, bool]:
    """The CIM type of a computed ``value`` no check declared, and whether an array."""
    if isinstance(value, list):
        item = next((item for item in value if item is not None), None)
        return _typed(item)[0], True
    if value is None:
        return "string", False
    return number_type(value) or cimtype(value), False


def _distinct(rows: Iterable[CIMInstance]) -> Iterator[CIMInstance]:
    """``rows`` without those whose shown values equal an earlier one's."""
    seen: set[Any] = set()
    for row in rows:
        key = tuple((name.lower(), _hashable(prop.value)) for name, prop in row.properties.items())
        if key not in seen:
            seen.add(key)
            yield row


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, CIMInstance):
        return repr(value)
    return value
