"""CQL's expressions: operands computed from other operands (DSP0202 Arithmetic
Expression and functions), and the columns a SELECT list computes.

Each is checked against the query's class like any operand: an operation on
values it cannot take (a string added to a number) is an invalid query
naming the operator's position, found before any instance is read. A
failure only an instance's values show (an overflow, a division by zero)
makes the value NULL, which no comparison holds for (see
:mod:`~virtcim.query.arithmetic`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from virtcim.query.arithmetic import concatenate, evaluate, negate, numeric_result, result_kind
from virtcim.query.conditions import Checker, Literal, Operand, Path, Scope, Type
from virtcim.query.functions import Function
from virtcim.query.values import kind_of_type

__all__ = ["Arithmetic", "Call", "Column", "Concatenation", "Everything", "Negation", "Symbol",
           "cimtype_of"]


def cimtype_of(operand: Operand, holds: Type) -> str:
    """The CIM type of what ``operand`` holds (a literal: ``sint64``, ``real64``, ...)."""
    if holds.cimtype:
        return holds.cimtype
    if holds.kind == "number":
        values = operand.value_ if isinstance(operand, Literal) else None
        items = values if isinstance(values, list) else [values]
        return "real64" if any(isinstance(item, float) for item in items) else "sint64"
    # NULL, an embedded instance, an empty or mixed array literal: shown as strings
    return holds.kind if holds.kind in ("boolean", "datetime", "reference") else "string"


def _single(checker: Checker, operand: Operand, what: str) -> Type | None:
    """What ``operand`` holds; ``CIM_ERR_INVALID_QUERY`` if an array."""
    holds = operand.check(checker)
    if holds is not None and holds.is_array:
        raise checker.error(operand.pos, f"{what} takes single values, not a {holds}")
    return holds


@dataclass(frozen=True)
class Arithmetic(Operand):
    """``left op right`` for ``+ - * /``."""

    op: str
    left: Operand
    right: Operand
    pos: int
    #: The operator's position, which errors name.
    at: int

    def value(self, scope: Scope) -> Any:
        return evaluate(self.op, self.left.value(scope), self.right.value(scope))

    def check(self, checker: Checker) -> Type | None:
        a = _single(checker, self.left, self.op)
        b = _single(checker, self.right, self.op)
        if a is None or b is None:
            return None
        if "null" in (a.kind, b.kind):
            return Type("null")
        kind = result_kind(self.op, a.kind, b.kind)
        if kind is None:
            raise checker.error(self.at, f"{self.op} cannot take a {a} and a {b}")
        if kind == "datetime":
            return Type("datetime", cimtype="datetime")
        return Type("number", cimtype=numeric_result(self.op, cimtype_of(self.left, a),
                                                      cimtype_of(self.right, b)))


@dataclass(frozen=True)
class Negation(Operand):
    """``-operand``, for numbers."""

    operand: Operand
    pos: int

    def value(self, scope: Scope) -> Any:
        return negate(self.operand.value(scope))

    def check(self, checker: Checker) -> Type | None:
        holds = _single(checker, self.operand, "-")
        if holds is None or holds.kind == "null":
            return holds
        if holds.kind != "number":
            raise checker.error(self.pos, f"- cannot take a {holds}")
        return Type("number", cimtype=numeric_result("-", "sint64",
                                                      cimtype_of(self.operand, holds)))


@dataclass(frozen=True)
class Concatenation(Operand):
    """``left || right``, for strings."""

    left: Operand
    right: Operand
    pos: int
    at: int

    def value(self, scope: Scope) -> Any:
        return concatenate(self.left.value(scope), self.right.value(scope))

    def check(self, checker: Checker) -> Type | None:
        for side in (self.left, self.right):
            holds = _single(checker, side, "||")
            if holds is not None and holds.kind not in ("string", "null"):
                raise checker.error(self.at, f"|| joins strings, not a {holds}")
        return Type("string", cimtype="string")


@dataclass(frozen=True)
class Call(Operand):
    """A built-in function (:mod:`~virtcim.query.functions`) applied to its arguments."""

    function: Function
    args: tuple[Operand, ...]
    pos: int

    def value(self, scope: Scope) -> Any:
        args: Sequence[Any] = [arg.value(scope) for arg in self.args]
        if len(args) < len(self.function.takes):  # the object left out: the instance itself
            args = [*args, scope.instance]
        return self.function(args)

    def check(self, checker: Checker) -> Type | None:
        for arg, kinds in zip(self.args, self.function.takes, strict=False):
            holds = _single(checker, arg, self.function.name)
            if holds is not None and holds.kind not in kinds | {"null"}:
                raise checker.error(arg.pos, f"{self.function.name} takes a "
                                             f"{' or a '.join(sorted(kinds))}, not a {holds}")
        gives = self.function.gives
        return Type(kind_of_type(gives), cimtype=gives)


@dataclass(frozen=True)
class Symbol(Operand):
    """``[Class.]Prop#'Name'``: the value of ``Prop`` its Values qualifier calls ``Name``
    (DSP0202 symbolic constants), looked up in the schema. ``prop`` is ``None`` for
    ``#'Name'`` alone, which a comparison with a property binds (:meth:`of`)."""

    classname: str | None
    prop: str | None
    name: str
    pos: int

    def of(self, path: Path) -> Symbol:
        """``#'Name'`` as a value of the property ``path`` names."""
        steps = path.steps
        if steps[-1].index is not None or len(steps) > 2:
            return self
        owner = steps[-1].scope or (steps[0].name if len(steps) == 2 else None)
        return Symbol(owner, steps[-1].name, self.name, self.pos)

    def _classname(self, names: frozenset[str], selected: str) -> str:
        if self.classname is None or self.classname.lower() in names:
            return selected
        return self.classname

    def value(self, scope: Scope) -> Any:
        if scope.schema is None or self.prop is None:
            return None
        classname = self._classname(scope.names, scope.instance.classname)
        decl = (scope.schema.properties(classname) or {}).get(self.prop.lower())
        return None if decl is None else decl.symbols.get(self.name.lower())

    def check(self, checker: Checker) -> Type | None:
        if self.prop is None:
            raise checker.error(self.pos, f"#{self.name!r} alone stands for a value of the "
                                          f"property it is compared with; name the property "
                                          f"(Prop#{self.name!r})")
        classname = self._classname(checker.names, checker.classname)
        props = checker.schema.properties(classname)
        if props is None:
            raise checker.error(self.pos, f"no class {classname!r}")
        decl = props.get(self.prop.lower())
        if decl is None:
            raise checker.error(self.pos, f"{classname} has no property {self.prop!r}")
        if self.name.lower() not in decl.symbols:
            raise checker.error(self.pos, f"{classname}.{decl.name} has no value named "
                                          f"{self.name!r} (its Values qualifier names them)")
        return Type(kind_of_type(decl.type), cimtype=decl.type)


@dataclass(frozen=True)
class Everything(Operand):
    """``t.*``: every property of the instance ``t`` names, a SELECT list's item only."""

    of: str
    pos: int

    def value(self, scope: Scope) -> Any:
        return None

    def check(self, checker: Checker) -> Type | None:
        raise checker.error(self.pos, f"{self.of}.* stands for columns of a SELECT list, "
                                      f"not for a value")


@dataclass(frozen=True)
class Column:
    """One item of a SELECT list: an expression and the name it is shown as (``AS``), or
    every property of the instance (``t.*``: ``operand`` ``None``, ``of`` ``t``)."""

    operand: Operand | None
    alias: str | None
    pos: int
    of: str | None = None

    def property_name(self, names: frozenset[str]) -> str | None:
        """The lower-cased name of the instance's property this column shows as it is."""
        if self.alias is not None or not isinstance(self.operand, Path):
            return None
        return self.operand.property_name(names)

    def check(self, checker: Checker) -> Type | None:
        """What the column holds; ``CIM_ERR_INVALID_QUERY`` if it cannot be shown."""
        if self.operand is None:
            if self.of is not None and self.of.lower() not in checker.names:
                raise checker.error(self.pos, f"{self.of!r} names neither the FROM class "
                                              f"nor its alias")
            return None
        holds = self.operand.check(checker)
        if self.property_name(checker.names) is None and self.alias is None:
            raise checker.error(self.pos, f"only properties of {checker.classname} are "
                                          f"selected unnamed; name any other column with "
                                          f"AS (DMTF:CQL)")
        if holds is None:
            return None
        return Type(holds.kind, holds.is_array, cimtype_of(self.operand, holds))
