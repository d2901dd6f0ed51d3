"""The parts of a query: operands (property paths, literals) and conditions.

Each condition is evaluated against a :class:`Scope` (the instance, the
names that stand for it, the variables of ``SATISFIES``) to true, false or
unknown (:data:`~virtcim.query.values.Truth`); a query selects the
instances for which its condition is true. Each part can also be checked
against the class the query names (:class:`Checker`): properties the class
lacks and comparisons that can never be true are invalid queries, found
before any instance is read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pywbem import CIM_ERR_INVALID_QUERY, CIMError, CIMInstance, CIMInstanceName

from virtcim.query.patterns import PatternError, like
from virtcim.query.values import Truth, comparable_types, compare, kind_of_type, stands_for

__all__ = [
    "ALL_ITEMS", "And", "Checker", "Compare", "Condition", "Declaration", "IsNull", "Isa",
    "Like", "Literal", "Not", "Operand", "Or", "Path", "Picks", "Quantified", "Satisfies", "Schema",
    "Scope", "Step", "invalid",
]

#: A step's index that takes the whole array (``Prop[*]``).
ALL_ITEMS = "*"
#: Items a step's index picks (DSP0202 Array Range, ``Prop[0, 2..4, 6..]``): each an item's
#: index, or the first and last index of a run (``None``: from the start, to the end).
Picks = tuple[int | tuple[int | None, int | None], ...]


def invalid(text: str, pos: int, reason: str) -> CIMError:
    """``CIM_ERR_INVALID_QUERY`` naming the position (from 1) in ``text`` and the reason."""
    return CIMError(CIM_ERR_INVALID_QUERY,
                    f"invalid query at position {pos + 1}: {reason} (in {text!r})")


class Declaration(Protocol):
    """What a query needs of a property declaration."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def is_array(self) -> bool: ...

    @property
    def embedded_object(self) -> str | None: ...

    @property
    def symbols(self) -> Mapping[str, Any]:
        """Its values by the lower-cased names its Values qualifier gives them."""


class Schema(Protocol):
    """The classes a query is checked against and its ISA follows."""

    def properties(self, classname: str) -> Mapping[str, Declaration] | None:
        """The class's properties by lower-cased name; ``None`` when there is no such class."""

    def is_a(self, classname: str, ancestor: str) -> bool:
        """Whether ``classname`` is ``ancestor`` or derives from it."""


# --- evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a condition is evaluated against."""

    instance: CIMInstance
    schema: Schema | None
    #: Lower-cased names that stand for the instance itself (the FROM class, its alias).
    names: frozenset[str]
    #: ``SATISFIES`` variables by lower-cased name.
    variables: Mapping[str, Any] = field(default_factory=dict)

    def is_a(self, classname: str, ancestor: str) -> bool:
        if self.schema is None:
            return classname.lower() == ancestor.lower()
        return self.schema.is_a(classname, ancestor)


# --- checking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Type:
    """What a checked operand is known to hold: a kind of value
    (:func:`~virtcim.query.values.kind_of_type`, ``instance``, ``null``), and
    whether an array of them."""

    kind: str
    is_array: bool = False
    #: The property's own type, for messages (``uint16``).
    cimtype: str = ""

    def __str__(self) -> str:
        name = self.cimtype or self.kind
        return f"{name} array" if self.is_array else name


@dataclass(frozen=True)
class Checker:
    """Checks the parts of a query against the class it selects from."""

    text: str
    schema: Schema
    classname: str
    #: Lower-cased names that stand for the instance (the FROM class, its alias).
    names: frozenset[str]
    #: ``SATISFIES`` variables and what they hold, by lower-cased name.
    variables: Mapping[str, Type | None] = field(default_factory=dict)

    def error(self, pos: int, reason: str) -> CIMError:
        return invalid(self.text, pos, reason)

    def with_variable(self, name: str, holds: Type | None) -> Checker:
        return replace(self, variables={**self.variables, name.lower(): holds})


# --- operands ------------------------------------------------------------------------------------


class Operand(ABC):
    pos: int

    @abstractmethod
    def value(self, scope: Scope) -> Any:
        """The operand's value for ``scope`` (``None``: NULL)."""

    @abstractmethod
    def check(self, checker: Checker) -> Type | None:
        """What the operand holds, when the class says (``None``: not known before run time)."""


@dataclass(frozen=True)
class Literal(Operand):
    value_: Any
    #: ``string``, ``number``, ``boolean``, ``null`` or ``array``.
    kind: str
    pos: int
    #: An array's: the kind of its items (``null`` when empty, ``mixed`` when several).
    items: str = ""

    def value(self, scope: Scope) -> Any:
        return self.value_

    def check(self, checker: Checker) -> Type | None:
        if self.kind == "array":
            return Type(self.items, is_array=True)
        return Type(self.kind)


@dataclass(frozen=True)
class Step:
    """One name of a path: ``[Scope::]Name[index]``."""

    name: str
    scope: str | None = None
    #: An array item (from 0), the items :data:`Picks` picks, :data:`ALL_ITEMS`, or ``None``.
    index: int | Picks | str | None = None

    @property
    def one_item(self) -> bool:
        """Whether the step takes one item of an array (not a whole or a part of one)."""
        return isinstance(self.index, int)

    def indexed(self, value: Any) -> Any:
        if self.index is None or self.index == ALL_ITEMS:
            return value
        if not isinstance(value, list):
            return None
        if isinstance(self.index, tuple):
            return [item for pick in self.index for item in _picked(value, pick)]
        index = int(self.index)
        return value[index] if 0 <= index < len(value) else None


def _picked(items: list[Any], pick: int | tuple[int | None, int | None]) -> list[Any]:
    if isinstance(pick, int):
        return items[pick:pick + 1]
    first, last = pick
    return items[first or 0:len(items) if last is None else last + 1]


@dataclass(frozen=True)
class Path(Operand):
    """A property, an embedded instance's property (``Source.Name``), an array item, the
    instance itself (the FROM class or its alias), or a ``SATISFIES`` variable."""

    steps: tuple[Step, ...]
    pos: int

    def value(self, scope: Scope) -> Any:
        steps = self.steps
        current: Any = scope.instance
        first = steps[0]
        lower = first.name.lower()
        if lower in scope.variables:
            current = first.indexed(scope.variables[lower])
            steps = steps[1:]
        elif self._names_instance(scope.names, scope.instance):
            steps = steps[1:]
        for step in steps:
            if not isinstance(current, CIMInstance):
                return None
            if step.scope is not None and not scope.is_a(current.classname, step.scope):
                return None
            prop = current.properties.get(step.name)
            if prop is None:
                return None
            current = step.indexed(prop.value)
        return current

    def _names_instance(self, names: frozenset[str], instance: CIMInstance | None) -> bool:
        """Whether the first step stands for the instance rather than one of its properties."""
        first = self.steps[0]
        if first.scope is not None or first.index is not None:
            return False
        if first.name.lower() not in names:
            return False
        return len(self.steps) > 1 or instance is None or first.name not in instance.properties

    def property_name(self, names: frozenset[str]) -> str | None:
        """The lower-cased name of the instance's property this path is, if it is one
        (``names`` stand for the instance)."""
        steps = self.steps
        if len(steps) == 2 and self._names_instance(names, None):
            steps = steps[1:]
        step = steps[0]
        if len(steps) == 1 and step.index is None:
            return step.name.lower()
        return None

    def check(self, checker: Checker) -> Type | None:
        steps = self.steps
        first = steps[0]
        lower = first.name.lower()
        if lower in checker.variables:
            holds = checker.variables[lower]
            if holds is not None and first.one_item:
                holds = replace(holds, is_array=False)
            return holds if len(steps) == 1 else None
        if self._names_instance(checker.names, None) and (
                len(steps) > 1 or not self._declares(checker, first.name)):
            steps = steps[1:]
            if not steps:
                return Type("instance")
        return self._check_property(checker, steps)

    @staticmethod
    def _declares(checker: Checker, name: str) -> bool:
        props = checker.schema.properties(checker.classname) or {}
        return name.lower() in props

    def _check_property(self, checker: Checker, steps: tuple[Step, ...]) -> Type | None:
        step = steps[0]
        classname = checker.classname
        if step.scope is not None:
            if checker.schema.properties(step.scope) is None:
                raise checker.error(self.pos, f"no class {step.scope!r}")
            if not (checker.schema.is_a(step.scope, classname)
                    or checker.schema.is_a(classname, step.scope)):
                raise checker.error(self.pos, f"{step.scope} is neither a subclass nor a "
                                              f"superclass of {classname}")
            classname = step.scope
        decl = (checker.schema.properties(classname) or {}).get(step.name.lower())
        if decl is None:
            raise checker.error(self.pos, f"{classname} has no property {step.name!r}")
        if step.index is not None and not decl.is_array:
            raise checker.error(self.pos, f"{decl.name} is not an array")
        is_array = decl.is_array and not step.one_item
        if len(steps) > 1:
            if not decl.embedded_object or is_array:
                raise checker.error(self.pos, f"{decl.name} is not an embedded instance")
            return None  # the embedded instance's class is known at run time only
        if decl.embedded_object:
            return Type("instance", is_array, decl.type)
        return Type(kind_of_type(decl.type), is_array, decl.type)


# --- conditions ----------------------------------------------------------------------------------


class Condition(ABC):
    @abstractmethod
    def evaluate(self, scope: Scope) -> Truth: ...

    @abstractmethod
    def check(self, checker: Checker) -> None: ...

    def equalities(self, names: frozenset[str]) -> dict[str, frozenset[Any]]:
        """Property values every instance this condition selects must have.

        By lower-cased property name, the values one of which it must have
        (``Name = 'a' OR Name = 'b'``: ``{"name": {"a", "b"}}``): what a
        provider may look up rather than list (see
        :meth:`~virtcim.provider.InstanceProvider.enumerate_where`). ``names``
        stand for the instance (:attr:`Scope.names`).
        """
        return {}


def _junction(decisive: bool, truths: Iterable[Truth]) -> Truth:
    """AND (``decisive`` false) or OR (true) of ``truths``, three-valued: a ``decisive``
    part decides; else unknown if any part is unknown."""
    result: Truth = not decisive
    for truth in truths:
        if truth is decisive:
            return decisive
        if truth is None:
            result = None
    return result


@dataclass(frozen=True)
class _Junction(Condition):
    parts: tuple[Condition, ...]

    def check(self, checker: Checker) -> None:
        for part in self.parts:
            part.check(checker)


@dataclass(frozen=True)
class And(_Junction):
    def evaluate(self, scope: Scope) -> Truth:
        return _junction(False, (part.evaluate(scope) for part in self.parts))

    def equalities(self, names: frozenset[str]) -> dict[str, frozenset[Any]]:
        found: dict[str, frozenset[Any]] = {}
        for part in self.parts:
            for name, values in part.equalities(names).items():
                found[name] = found[name] & values if name in found else values
        return found


@dataclass(frozen=True)
class Or(_Junction):
    def evaluate(self, scope: Scope) -> Truth:
        return _junction(True, (part.evaluate(scope) for part in self.parts))

    def equalities(self, names: frozenset[str]) -> dict[str, frozenset[Any]]:
        each = [part.equalities(names) for part in self.parts]
        shared = set(each[0]).intersection(*each[1:])
        return {name: frozenset().union(*(found[name] for found in each)) for name in shared}


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def evaluate(self, scope: Scope) -> Truth:
        truth = self.part.evaluate(scope)
        return None if truth is None else not truth

    def check(self, checker: Checker) -> None:
        self.part.check(checker)


@dataclass(frozen=True)
class Compare(Condition):
    left: Operand
    op: str
    right: Operand

    def evaluate(self, scope: Scope) -> Truth:
        return compare(self.op, self.left.value(scope), self.right.value(scope))

    def check(self, checker: Checker) -> None:
        _check_comparison(checker, self.left, self.op, self.right, self.left.check(checker),
                          self.right.check(checker))

    def equalities(self, names: frozenset[str]) -> dict[str, frozenset[Any]]:
        if self.op != "=":
            return {}
        for path, literal in ((self.left, self.right), (self.right, self.left)):
            if isinstance(path, Path) and isinstance(literal, Literal) and literal.kind in (
                    "string", "number", "boolean"):
                name = path.property_name(names)
                if name is not None:
                    return {name: frozenset({literal.value_})}
        return {}


def _check_comparison(checker: Checker, left: Operand, op: str, right: Operand,
                      a: Type | None, b: Type | None) -> None:
    if a is None or b is None or "null" in (a.kind, b.kind):
        return
    if a.is_array != b.is_array:
        array = left if a.is_array else right
        raise checker.error(array.pos, "an array is compared with ANY, EVERY or an array "
                                       "literal ({...}), not with a single value")
    if a.is_array and op not in ("=", "<>", "!="):
        raise checker.error(left.pos, f"arrays compare with = and <> only, not {op}")
    if not comparable_types(a.kind, b.kind):
        raise checker.error(left.pos, f"a {a} cannot be compared with a {b}")
    if {a.kind, b.kind} & {"reference"} and op not in ("=", "<>", "!="):
        raise checker.error(left.pos, f"references compare with = and <> only, not {op}")
    for side, other in ((left, b), (right, a)):
        if isinstance(side, Literal) and not stands_for(other.kind, side.value_):
            raise checker.error(side.pos, f"{side.value_!r} is not a CIM {other.kind}")


@dataclass(frozen=True)
class IsNull(Condition):
    operand: Operand
    negated: bool

    def evaluate(self, scope: Scope) -> Truth:
        return (self.operand.value(scope) is None) != self.negated

    def check(self, checker: Checker) -> None:
        self.operand.check(checker)


@dataclass(frozen=True)
class Isa(Condition):
    """``operand ISA Class``: an embedded instance, a reference or the instance itself."""

    operand: Operand
    classname: str
    pos: int

    def evaluate(self, scope: Scope) -> Truth:
        value = self.operand.value(scope)
        if isinstance(value, (CIMInstance, CIMInstanceName)):
            return scope.is_a(value.classname, self.classname)
        return None

    def check(self, checker: Checker) -> None:
        self.operand.check(checker)
        if checker.schema.properties(self.classname) is None:
            raise checker.error(self.pos, f"no class {self.classname!r}")


@dataclass(frozen=True)
class Like(Condition):
    operand: Operand
    pattern: Operand
    #: ``sql`` or ``regex`` (:mod:`virtcim.query.patterns`).
    dialect: str
    negated: bool = False

    def evaluate(self, scope: Scope) -> Truth:
        return _like(self.dialect, self.operand.value(scope), self.pattern.value(scope),
                     self.negated)

    def check(self, checker: Checker) -> None:
        _check_like(checker, self.operand.check(checker), self.operand, self.pattern,
                    self.dialect)


def _like(dialect: str, text: Any, pattern: Any, negated: bool) -> Truth:
    if not isinstance(text, str) or not isinstance(pattern, str):
        return None
    try:
        return like(dialect, pattern, text) != negated
    except PatternError:
        return None


def _check_like(checker: Checker, holds: Type | None, operand: Operand, pattern: Operand,
                dialect: str) -> None:
    if holds is not None and (holds.kind != "string" or holds.is_array):
        raise checker.error(operand.pos, f"LIKE needs a string, not a {holds}")
    if isinstance(pattern, Literal):
        if pattern.kind != "string":
            raise checker.error(pattern.pos, "a LIKE pattern is a string")
        try:
            like(dialect, pattern.value_, "")
        except PatternError as error:
            raise checker.error(pattern.pos, str(error)) from None
    else:
        pattern.check(checker)


@dataclass(frozen=True)
class Quantified(Condition):
    """``ANY Prop op value`` / ``EVERY Prop op value`` (also ``LIKE``): over an array's items."""

    every: bool
    array: Operand
    op: str
    right: Operand
    dialect: str = ""

    def evaluate(self, scope: Scope) -> Truth:
        items = self.array.value(scope)
        if not isinstance(items, list):
            return None
        right = self.right.value(scope)
        truths = (_like(self.dialect, item, right, False) if self.op == "LIKE"
                  else compare(self.op, item, right) for item in items)
        return _quantify(self.every, truths)

    def check(self, checker: Checker) -> None:
        holds = _array_items(checker, self.array)
        if self.op == "LIKE":
            _check_like(checker, holds, self.array, self.right, self.dialect)
        else:
            _check_comparison(checker, self.array, self.op, self.right, holds,
                              self.right.check(checker))


def _array_items(checker: Checker, array: Operand) -> Type | None:
    holds = array.check(checker)
    if holds is None:
        return None
    if not holds.is_array:
        raise checker.error(array.pos, f"ANY and EVERY need an array, not a {holds}")
    return replace(holds, is_array=False)


def _quantify(every: bool, truths: Iterable[Truth]) -> Truth:
    """EVERY: the AND of the items' truths; ANY: their OR."""
    return _junction(not every, truths)


@dataclass(frozen=True)
class Satisfies(Condition):
    """``ANY x IN Prop SATISFIES (condition on x)`` / ``EVERY ...``."""

    every: bool
    variable: str
    array: Operand
    condition: Condition

    def evaluate(self, scope: Scope) -> Truth:
        items = self.array.value(scope)
        if not isinstance(items, list):
            return None
        name = self.variable.lower()
        return _quantify(self.every, (
            self.condition.evaluate(replace(scope, variables={**scope.variables, name: item}))
            for item in items))

    def check(self, checker: Checker) -> None:
        holds = _array_items(checker, self.array)
        self.condition.check(checker.with_variable(self.variable, holds))
