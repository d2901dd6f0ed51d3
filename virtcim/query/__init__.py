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
(:meth:`Query.project`), their order (:meth:`Query.sorted`), and which
property values every selected instance has (:meth:`Query.equalities`), for
providers that can look those up rather than list everything.

The operations layer answers ExecQuery, OpenQueryInstances and the
``FilterQuery`` of pulled enumerations with it; indication filters are
queries too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, CIMError, CIMInstance

from virtcim.query.conditions import Checker, Condition, Path, Schema, Scope, invalid
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
                  statement.selection, statement.condition, statement.order, schema)
    if schema is not None:
        query.check()
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
    #: The selected properties (paths); ``None``: all.
    selection: tuple[Path, ...] | None
    condition: Condition | None
    order: tuple[tuple[Path, bool], ...]
    schema: Schema | None = None

    def matches(self, instance: CIMInstance) -> bool:
        """Whether the condition is true for ``instance`` (not false, not unknown)."""
        if self.condition is None:
            return True
        return self.condition.evaluate(Scope(instance, self.schema, self.names)) is True

    @property
    def property_list(self) -> list[str] | None:
        """The names of the selected properties, lower-cased (``None``: all)."""
        if self.selection is None:
            return None
        return [name for path in self.selection if (name := path.property_name(self.names))]

    def project(self, instance: CIMInstance) -> CIMInstance:
        """``instance`` with the selected properties only, in the order selected (its path
        kept)."""
        wanted = self.property_list
        if wanted is None:
            return instance
        props = instance.properties
        return CIMInstance(instance.classname, path=instance.path,
                           properties=[props[name] for name in wanted if name in props])

    def sorted(self, instances: Iterable[CIMInstance]) -> list[CIMInstance]:
        """``instances`` in ORDER BY's order (NULL first), or as they come without one."""
        ordered = list(instances)
        for path, descending in reversed(self.order):
            ordered.sort(key=self._key(path), reverse=descending)
        return ordered

    def _key(self, path: Path) -> Callable[[CIMInstance], tuple[int, Any]]:
        return lambda inst: sort_key(path.value(Scope(inst, self.schema, self.names)))

    def equalities(self) -> Mapping[str, frozenset[Any]]:
        """Property values each selected instance has: by lower-cased name, the values one of
        which it has (see :meth:`~virtcim.query.conditions.Condition.equalities`)."""
        return {} if self.condition is None else self.condition.equalities(self.names)

    def check(self) -> None:
        """``CIM_ERR_INVALID_QUERY`` unless every part fits the class (the query's schema's)."""
        assert self.schema is not None
        if self.class_name is None:
            return
        if self.schema.properties(self.class_name) is None:
            pos = self.class_name.pos if isinstance(self.class_name, ClassName) else 0
            raise invalid(self.text, pos, f"no class {self.class_name!r}")
        checker = Checker(self.text, self.schema, self.class_name, self.names)
        for path in self.selection or ():
            if path.property_name(self.names) is None:
                raise invalid(self.text, path.pos, f"only properties of {self.class_name} "
                                                   f"can be selected")
            path.check(checker)
        if self.condition is not None:
            self.condition.check(checker)
        for path, _ in self.order:
            path.check(checker)
