"""Reading query text: the grammars (``*.lark`` beside this module), parsed by lark.

Each language's grammar is ``conditions.lark`` (the condition every language
shares) followed by its own file; lark builds one LALR parser per language,
once. A syntax error is ``CIM_ERR_INVALID_QUERY`` naming the position and
what was found there and expected instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path as FilePath
from typing import Any, TypeGuard

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from virtcim.query.arithmetic import compute
from virtcim.query.conditions import (
    ALL_ITEMS,
    And,
    Compare,
    Condition,
    Isa,
    IsNull,
    Like,
    Literal,
    Not,
    Operand,
    Or,
    Path,
    Picks,
    Quantified,
    Satisfies,
    Step,
    invalid,
)
from virtcim.query.expressions import (
    Arithmetic,
    Call,
    Column,
    Concatenation,
    Everything,
    Negation,
    Symbol,
)
from virtcim.query.functions import FUNCTIONS, UNSUPPORTED, Function

__all__ = ["ClassName", "Statement", "read"]

_HERE = FilePath(__file__).parent
#: Conditions nested deeper than this (parentheses, NOT) are refused, not recursed into.
MAX_DEPTH = 64


class ClassName(str):
    """A class name as the query wrote it, with its position."""

    pos: int

    def __new__(cls, name: str, pos: int) -> ClassName:
        self = super().__new__(cls, name)
        self.pos = pos
        return self


@dataclass(frozen=True)
class Statement:
    """What the text says, before it is checked against any class."""

    class_name: ClassName | None
    alias: str | None
    #: The SELECT list; ``None`` for ``*`` (and for a filter, which selects nothing).
    selection: tuple[Column, ...] | None
    condition: Condition | None
    #: ``ORDER BY``: each expression and whether descending.
    order: tuple[tuple[Operand, bool], ...]
    #: ``SELECT DISTINCT``: rows shown once.
    distinct: bool = False
    #: ``SELECT FIRST n``: at most n rows.
    first: int | None = None


@cache
def _parser(grammar: str) -> Lark:
    """The LALR parser of ``grammar``, built once (lark's parsers are reentrant)."""
    text = (_HERE / "conditions.lark").read_text() + (_HERE / f"{grammar}.lark").read_text()
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=False)


@lru_cache(maxsize=512)
def read(grammar: str, text: str) -> Statement:
    """The statement ``text`` of ``grammar`` (``wql``, ``cql`` or ``fql``); cached, as
    consoles and indication filters send the same queries again and again."""
    try:
        tree = _parser(grammar).parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    _check_depth(text, tree)
    try:
        return _Build(text, "sql" if grammar == "wql" else "regex").transform(tree)
    except VisitError as error:
        raise error.orig_exc from None


def _syntax_error(text: str, error: UnexpectedInput) -> Exception:
    if isinstance(error, UnexpectedEOF):
        return invalid(text, len(text), f"the query ends early; expected {_expected(error)}")
    pos = error.pos_in_stream or 0
    if isinstance(error, UnexpectedCharacters):
        return invalid(text, pos, f"unexpected character {text[pos]!r}")
    token = getattr(error, "token", None)
    if isinstance(token, Token) and token.type == "$END":
        return invalid(text, len(text), f"the query ends early; expected {_expected(error)}")
    found = f"unexpected {str(token)!r}" if token is not None else "unexpected input"
    return invalid(text, pos, f"{found}; expected {_expected(error)}")


def _expected(error: UnexpectedInput) -> str:
    names = sorted({_readable(name.strip("_")) for name in getattr(error, "expected", ()) or ()})
    return " or ".join(names) if names else "something else"


_READABLE = {"$END": "the end", "SCOPE": "'::'", "LPAR": "'('", "RPAR": "')'", "LBRACE": "'{'", "RBRACE": "'}'", "LSQB": "'['",
             "RSQB": "']'", "COMMA": "','", "DOT": "'.'", "STAR": "'*'",
             "PLUS": "'+'", "MINUS": "'-'", "SLASH": "'/'", "CONCAT": "'||'", "RANGE": "'..'",
             "HASH": "'#'",
             "COMPARISON": "a comparison operator", "NAME": "a name", "STRING": "a string",
             "INTEGER": "an integer", "REAL": "a real number", "HEX": "a hex number"}


def _readable(terminal: str) -> str:
    if terminal in _READABLE:
        return _READABLE[terminal]
    return terminal.replace("_", " ")


def _check_depth(text: str, tree: Tree) -> None:
    """Refuse trees deeper than :data:`MAX_DEPTH` conditions before recursing into them."""
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            pos = node.meta.start_pos if not node.meta.empty else 0
            raise invalid(text, pos, f"conditions nested deeper than {MAX_DEPTH} levels")
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))


@v_args(inline=True)
class _Build(Transformer[Token, Statement]):
    """Turns a parse tree into a :class:`Statement` of :mod:`~virtcim.query.conditions`."""

    def __init__(self, text: str, dialect: str) -> None:
        super().__init__()
        self._text = text
        self._dialect = dialect

    # -- statements --

    def start(self, *parts: Any) -> Statement:
        if len(parts) == 1:  # a filter: the condition alone
            return Statement(None, None, None, parts[0], ())
        distinct = any(isinstance(part, _Distinct) for part in parts)
        first = next((part.count for part in parts if isinstance(part, _First)), None)
        selection, class_name, *rest = [
            part for part in parts if not isinstance(part, (_Distinct, _First))]
        alias = condition = None
        order: tuple[tuple[Operand, bool], ...] = ()
        for part in rest:
            if isinstance(part, Token):
                alias = str(part)
            elif isinstance(part, Condition):
                condition = part
            else:
                order = part
        return Statement(class_name, alias, selection, condition, order, distinct, first)

    def distinct(self) -> _Distinct:
        return _Distinct()

    def first(self, count: Token) -> _First:
        return _First(int(count))

    def selection(self, *items: Any) -> tuple[Column, ...] | None:
        if len(items) == 1 and isinstance(items[0], Token):
            return None  # *
        # WQL's are paths, CQL's columns
        return tuple(item if isinstance(item, Column) else Column(item, None, item.pos)
                     for item in items)

    def column(self, operand: Operand, alias: Token | None = None) -> Column:
        if isinstance(operand, Everything):
            if alias is not None:
                raise invalid(self._text, alias.start_pos or 0, "'.*' cannot be named")
            return Column(None, None, operand.pos, operand.of)
        if alias is None and not isinstance(operand, Path):
            raise invalid(self._text, operand.pos, "only properties are selected unnamed; "
                                                   "name any other column with AS")
        return Column(operand, None if alias is None else str(alias), operand.pos)

    def order_by(self, *orderings: tuple[Operand, bool]) -> tuple[tuple[Operand, bool], ...]:
        return orderings

    def ordering(self, operand: Operand, direction: Token | None = None
                 ) -> tuple[Operand, bool]:
        return operand, direction is not None and direction.upper() == "DESC"

    def class_name(self, name: Token) -> ClassName:
        return ClassName(name, name.start_pos or 0)

    # -- conditions --

    def condition(self, *parts: Condition) -> Condition:
        return Or(parts)

    def conjunction(self, *parts: Condition) -> Condition:
        return And(parts)

    def not_(self, part: Condition) -> Condition:
        return Not(part)

    def compare(self, left: Operand, op: Token, right: Operand) -> Condition:
        left, right = _bound(left, right), _bound(right, left)
        return Compare(left, "<>" if op == "!=" else str(op), right)

    def is_null(self, operand: Operand) -> Condition:
        return IsNull(operand, False)

    def is_not_null(self, operand: Operand) -> Condition:
        return IsNull(operand, True)

    def isa(self, operand: Operand, classname: str) -> Condition:
        return Isa(operand, classname, operand.pos)

    def like(self, operand: Operand, pattern: Operand) -> Condition:
        return Like(operand, pattern, self._dialect)

    def not_like(self, operand: Operand, pattern: Operand) -> Condition:
        return Like(operand, pattern, self._dialect, negated=True)

    def quantifier(self, word: Token) -> bool:
        return word.upper() == "EVERY"

    def quantified(self, every: bool, array: Operand, op: Token, right: Operand) -> Condition:
        return Quantified(every, array, "<>" if op == "!=" else str(op), right)

    def quantified_like(self, every: bool, array: Operand, pattern: Operand) -> Condition:
        return Quantified(every, array, "LIKE", pattern, self._dialect)

    def satisfies(self, every: bool, variable: Token, array: Operand,
                  condition: Condition) -> Condition:
        return Satisfies(every, str(variable), array, condition)

    # -- operands --

    @v_args(meta=True)
    def path(self, meta: Any, steps: list[Any]) -> Operand:
        if isinstance(steps[-1], Token):  # t.*
            if len(steps) != 2:
                raise invalid(self._text, meta.start_pos,
                              "'.*' follows the name of the FROM class or its alias")
            return Everything(steps[0].name, meta.start_pos)
        return Path(tuple(steps), meta.start_pos)

    def step(self, *parts: Any) -> Step:
        # [scope (a str)] NAME (the only token) [index]
        at = next(i for i, part in enumerate(parts) if isinstance(part, Token))
        scope = parts[at - 1] if at else None
        index = parts[at + 1] if at + 1 < len(parts) else None
        return Step(str(parts[at]), scope, index)

    def index(self, *picks: Any) -> int | str | Picks:
        if len(picks) == 1 and isinstance(picks[0], Token):
            return ALL_ITEMS if picks[0].type == "STAR" else int(picks[0])
        return tuple(pick if isinstance(pick, tuple) else int(pick) for pick in picks)

    def run(self, *parts: Token) -> tuple[int | None, int | None]:
        """``n..m``, ``n..`` or ``..m`` (the RANGE token among them)."""
        at = next(i for i, part in enumerate(parts) if part.type == "RANGE")
        first = int(parts[0]) if at == 1 else None
        last = int(parts[-1]) if at == len(parts) - 2 else None
        return first, last

    def string(self, token: Token) -> Literal:
        return Literal(_unquote(self._text, token), "string", token.start_pos or 0)

    def integer(self, token: Token) -> Literal:
        return Literal(int(token), "number", token.start_pos or 0)

    def hexadecimal(self, token: Token) -> Literal:
        return Literal(int(token, 16), "number", token.start_pos or 0)

    def real(self, token: Token) -> Literal:
        return Literal(float(token), "number", token.start_pos or 0)

    @v_args(meta=True)
    def negative(self, meta: Any, children: list[Literal]) -> Literal:
        return Literal(-children[0].value_, "number", _start(meta))

    # -- expressions (CQL) --

    def arithmetic(self, left: Operand, op: Token, right: Operand) -> Operand:
        at = op.start_pos or 0
        if _is_number(left) and _is_number(right):  # a constant: computed once, here
            try:
                value = compute(str(op), left.value_, right.value_)
            except ArithmeticError as error:
                raise invalid(self._text, at, str(error)) from None
            return Literal(value, "number", left.pos)
        if str(op) == "/" and _is_number(right) and right.value_ == 0:
            raise invalid(self._text, at, "division by zero")
        return Arithmetic(str(op), left, right, left.pos, at)

    def symbol(self, *parts: Any) -> Operand:
        *owner, mark, name = parts
        value = _unquote(self._text, name)
        pos = owner[0].pos if owner else mark.start_pos or 0
        bare = Symbol(None, None, value, pos)
        if not owner:
            return bare
        path = owner[0]
        bound = bare.of(path) if isinstance(path, Path) else bare
        if bound.prop is None:
            raise invalid(self._text, pos, "a symbolic constant follows a property, "
                                           "[Class.]Prop or Class::Prop")
        return bound

    def negate(self, sign: Token, operand: Operand) -> Operand:
        if _is_number(operand):
            return Literal(-operand.value_, "number", sign.start_pos or 0)
        return Negation(operand, sign.start_pos or 0)

    def concat(self, left: Operand, op: Token, right: Operand) -> Operand:
        return Concatenation(left, right, left.pos, op.start_pos or 0)

    def call(self, name: Token, *args: Operand) -> Operand:
        function = self._function(name)
        least = len(function.takes) - function.optional
        if not least <= len(args) <= len(function.takes):
            wanted = (f"{least} to {len(function.takes)}" if function.optional
                      else str(len(function.takes)))
            raise invalid(self._text, name.start_pos or 0,
                          f"{function.name} takes {wanted} argument(s), not {len(args)}")
        return Call(function, args, name.start_pos or 0)

    def call_star(self, name: Token, star: Token) -> Operand:
        self._function(name)
        raise invalid(self._text, star.start_pos or 0, f"{name.upper()} takes no '*'")

    def _function(self, name: Token) -> Function:
        upper = name.upper()
        if upper in UNSUPPORTED:
            raise invalid(self._text, name.start_pos or 0,
                          f"function {upper} is not supported: {UNSUPPORTED[upper]}")
        if upper not in FUNCTIONS:
            raise invalid(self._text, name.start_pos or 0,
                          f"function {str(name)!r} is not supported: DMTF:CQL has none "
                          f"of that name")
        return FUNCTIONS[upper]

    @v_args(meta=True)
    def true(self, meta: Any, _: list[Any]) -> Literal:
        return Literal(True, "boolean", _start(meta))

    @v_args(meta=True)
    def false(self, meta: Any, _: list[Any]) -> Literal:
        return Literal(False, "boolean", _start(meta))

    @v_args(meta=True)
    def null(self, meta: Any, _: list[Any]) -> Literal:
        return Literal(None, "null", _start(meta))

    @v_args(meta=True)
    def array(self, meta: Any, items: list[Literal]) -> Literal:
        for item in items:
            if item.kind in ("array", "null"):
                raise invalid(self._text, item.pos, "an array literal holds single values only")
        kinds = {item.kind for item in items}
        held = kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "null"
        return Literal([item.value_ for item in items], "array", _start(meta), held)


class _Distinct:
    """``SELECT DISTINCT``, on its way to the statement."""


@dataclass(frozen=True)
class _First:
    """``SELECT FIRST n``, on its way to the statement."""

    count: int


def _bound(operand: Operand, other: Operand) -> Operand:
    """``#'Name'`` alone, compared with a property: that property's value of that name."""
    if isinstance(operand, Symbol) and operand.prop is None and isinstance(other, Path):
        return operand.of(other)
    return operand


def _is_number(operand: Operand) -> TypeGuard[Literal]:
    return isinstance(operand, Literal) and operand.kind == "number"


def _start(meta: Any) -> int:
    return 0 if meta.empty else int(meta.start_pos)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'",
            '"': '"'}


def _unquote(text: str, token: Token) -> str:
    """A string literal's value: a doubled quote is one quote; ``\\n``, ``\\t``, ``\\r``,
    ``\\b``, ``\\f``, ``\\\\``, ``\\'``, ``\\"`` and ``\\uXXXX`` stand for what they say in
    every language."""
    quote, body = token[0], token[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == quote:  # the grammar lets a quote in only doubled
            out.append(quote)
            i += 2
        elif char == "\\":
            escaped = body[i + 1]
            if escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
                i += 2
            elif escaped == "u" and _is_hex(body[i + 2:i + 6]):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            else:
                raise invalid(text, (token.start_pos or 0) + 1 + i,
                              f"unknown escape '\\{escaped}' in a string")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _is_hex(digits: str) -> bool:
    return len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits)
