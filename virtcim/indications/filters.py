"""Indication filters: a filter's query, read once when the filter is created.

A filter (``CIM_IndicationFilter``) holds a query in WQL or DMTF:CQL that
selects indications: ``SELECT * FROM CIM_InstModification WHERE
SourceInstance ISA CIM_ComputerSystem``. :func:`compile_filter` reads it
once, checks the class it names against the repository, and gives a
:class:`FilterQuery` whose :meth:`~FilterQuery.matches` is asked of every
indication produced.

The queries read here are the forms DSP1054 clients send: ``SELECT *`` from
an indication class, with an optional ``WHERE`` of conditions joined by
``AND``: ``SourceInstance ISA <class>``, and comparisons (``=``, ``<>``)
of a property of the indication or of its ``SourceInstance`` with a string,
integer or boolean literal. The query engine (:mod:`virtcim.query`) takes
this module's place once it is part of the server: :func:`compile_filter`
is the one place that reads a query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pywbem import (
    CIM_ERR_INVALID_QUERY,
    CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
    CIMError,
    CIMInstance,
)

from virtcim.repository.schema import Repository

__all__ = ["INDICATION_ROOT", "QUERY_LANGUAGES", "FilterQuery", "compile_filter"]

#: Every indication class derives from it.
INDICATION_ROOT = "CIM_Indication"
#: The languages a filter may be written in, by their lower-cased names.
QUERY_LANGUAGES = {"wql": "WQL", "dmtf:cql": "DMTF:CQL", "cql": "DMTF:CQL"}

_SOURCE = "sourceinstance"
_TOKENS = re.compile(r"""\s*(?:(?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
                          |(?P<number>[+-]?\d+)
                          |(?P<op><>|!=|=)
                          |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
                          |(?P<star>\*))""", re.VERBOSE)


class FilterQuery(Protocol):
    """A filter's query, as read when the filter was created."""

    @property
    def class_name(self) -> str:
        """The indication class it selects (with its subclasses)."""

    def matches(self, indication: CIMInstance) -> bool:
        """Whether ``indication`` is one the filter selects."""


Condition = Callable[[CIMInstance], bool]


@dataclass(frozen=True)
class _Query:
    class_name: str
    conditions: tuple[Condition, ...]
    is_a: Callable[[str, str], bool]

    def matches(self, indication: CIMInstance) -> bool:
        return (self.is_a(indication.classname, self.class_name)
                and all(condition(indication) for condition in self.conditions))


def compile_filter(language: str, text: str, repository: Repository, namespace: str) -> FilterQuery:
    """The query ``text`` in ``language``, checked against the classes of ``namespace``.

    ``CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED`` for a language other than WQL
    and DMTF:CQL; ``CIM_ERR_INVALID_QUERY`` naming the reason for a query
    that cannot be read or names a class that is no indication class.
    """
    if QUERY_LANGUAGES.get(language.strip().lower()) is None:
        raise CIMError(CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED,
                       f"query language {language!r} is not supported for indication filters; "
                       f"use WQL or DMTF:CQL")
    words = _tokens(text)

    def is_a(classname: str, ancestor: str) -> bool:
        return repository.is_subclass(namespace, classname, ancestor)

    reader = _Reader(text, words)
    reader.expect("select")
    reader.expect("*")
    reader.expect("from")
    class_name = reader.class_name(repository, namespace)
    if not is_a(class_name, INDICATION_ROOT):
        raise _invalid(text, f"{class_name} is not an indication class")
    conditions: list[Condition] = []
    if reader.accept("where"):
        conditions.append(reader.condition(repository, namespace, is_a))
        while reader.accept("and"):
            conditions.append(reader.condition(repository, namespace, is_a))
    if not reader.done():
        raise _invalid(text, f"unexpected {reader.peek()!r}")
    return _Query(class_name, tuple(conditions), is_a)


class _Reader:
    """Reads the words of one query, left to right."""

    def __init__(self, text: str, words: Sequence[tuple[str, str]]) -> None:
        self.text = text
        self.words = list(words)
        self.at = 0

    def done(self) -> bool:
        return self.at == len(self.words)

    def peek(self) -> str:
        return self.words[self.at][1] if not self.done() else "end of query"

    def take(self, what: str) -> tuple[str, str]:
        if self.done():
            raise _invalid(self.text, f"{what} expected at the end of the query")
        word = self.words[self.at]
        self.at += 1
        return word

    def accept(self, keyword: str) -> bool:
        if not self.done() and self.words[self.at][1].lower() == keyword:
            self.at += 1
            return True
        return False

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            raise _invalid(self.text, f"{keyword.upper()} expected, not {self.peek()!r}")

    def class_name(self, repository: Repository, namespace: str) -> str:
        kind, word = self.take("a class name")
        cls = repository.find_class(namespace, word) if kind == "name" else None
        if cls is None:
            raise _invalid(self.text, f"no class {word!r}")
        return cls.classname

    def condition(self, repository: Repository, namespace: str,
                  is_a: Callable[[str, str], bool]) -> Condition:
        kind, word = self.take("a condition")
        if kind != "name":
            raise _invalid(self.text, f"a property expected, not {word!r}")
        if word.lower() == _SOURCE and self.accept("isa"):
            ancestor = self.class_name(repository, namespace)
            return lambda ind: _source_is_a(ind, ancestor, is_a)
        _, op = self.take("a comparison")
        if op not in ("=", "<>", "!="):
            raise _invalid(self.text, f"=, <> expected after {word}, not {op!r}")
        literal = self.literal()
        read = _property_reader(word)
        if op == "=":
            return lambda ind: _equal(read(ind), literal)
        return lambda ind: (value := read(ind)) is not None and not _equal(value, literal)

    def literal(self) -> Any:
        kind, word = self.take("a value")
        if kind == "string":
            quote = word[0]
            return word[1:-1].replace(quote * 2, quote)
        if kind == "number":
            return int(word)
        if word.lower() in ("true", "false"):
            return word.lower() == "true"
        raise _invalid(self.text, f"a string, number or boolean expected, not {word!r}")


def _tokens(text: str) -> list[tuple[str, str]]:
    words = []
    at = 0
    while at < len(text):
        if text[at:].isspace():
            break
        match = _TOKENS.match(text, at)
        if match is None or match.end() == at:
            raise _invalid(text, f"unexpected {text[at:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        words.append(("*" if kind == "star" else kind, match.group(kind)))
        at = match.end()
    return words


def _property_reader(name: str) -> Callable[[CIMInstance], Any]:
    """The value of ``Prop`` of the indication, or of ``SourceInstance.Prop``."""
    owner, _, prop = name.rpartition(".")
    if not owner:
        return lambda ind: _value(ind, prop)
    if owner.lower() != _SOURCE:
        raise CIMError(CIM_ERR_INVALID_QUERY, f"only SourceInstance properties can be "
                                              f"compared, not {name!r}")
    return lambda ind: _value(_source(ind), prop)


def _source(indication: CIMInstance) -> CIMInstance | None:
    source = _value(indication, "SourceInstance")
    return source if isinstance(source, CIMInstance) else None


def _source_is_a(indication: CIMInstance, ancestor: str,
                 is_a: Callable[[str, str], bool]) -> bool:
    source = _source(indication)
    return source is not None and is_a(source.classname, ancestor)


def _value(instance: CIMInstance | None, name: str) -> Any:
    if instance is None:
        return None
    prop = instance.properties.get(name)
    return None if prop is None else prop.value


def _equal(value: Any, literal: Any) -> bool:
    if value is None:
        return False
    if isinstance(literal, bool) or isinstance(value, bool):
        return value is literal or value == literal
    if isinstance(literal, int):
        return isinstance(value, int) and int(value) == literal
    return str(value) == literal


def _invalid(text: str, reason: str) -> CIMError:
    return CIMError(CIM_ERR_INVALID_QUERY, f"invalid filter query {text!r}: {reason}")
