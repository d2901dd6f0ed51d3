"""MOF instance literals sent as embedded-instance parameter values.

Older clients (libvirt's cimtest among them) pass embedded instances as MOF
text rather than escaped CIM-XML::

    instance of KVM_VirtualSystemSettingData {
        InstanceID = "KVM:web1";
        VirtualQuantity = 2;
    };

pywbem's MOF compiler needs the class declaration to type the values, which
the codec does not have, so this is a small, strict parser for exactly one
such instance. Values come out untyped: ``str``, ``int``, ``float``, ``bool``,
``None`` or lists of them, and each property gets a type guessed from its
value (``string``, ``uint64``/``sint64``, ``real64``, ``boolean``). The
operations layer re-types every property against the class declaration, so
the guess only has to be lossless. Nested embedded instances stay strings.

The scanner is a single regular expression applied left to right, each
alternative free of nested repetition, so hostile text costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError, CIMInstance, CIMProperty

from virtcim.cimxml.limits import MAX_ARRAY_ITEMS

__all__ = ["looks_like_mof_instance", "parse_mof_instance"]

_TOKEN = re.compile(
    r"""
      (?P<skip>\s+|//[^\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/)
    | (?P<string>"[^"\\]*(?:\\.[^"\\]*)*")
    | (?P<char>'(?:[^'\\]|\\(?:[xX][0-9a-fA-F]{1,4}|.))')
    | (?P<real>[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?[0-9]+[eE][+-]?[0-9]+)
    | (?P<hex>[+-]?0[xX][0-9a-fA-F]+)
    | (?P<integer>[+-]?[0-9]+)
    | (?P<alias>\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[{}=;,])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(?:[xX]([0-9a-fA-F]{1,4})|(.))", re.DOTALL)
_ESCAPED_CHARS = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}
_ESCAPED_CHARS.update({c: c for c in "\"'\\"})
_MOF_START = re.compile(r"\s*instance\s+of\b", re.IGNORECASE)


def looks_like_mof_instance(text: str) -> bool:
    """Whether a string value is MOF ``instance of ...`` text."""
    return _MOF_START.match(text) is not None


def parse_mof_instance(text: str) -> CIMInstance:
    """The instance one MOF ``instance of`` declaration describes.

    Raises ``CIMError(CIM_ERR_INVALID_PARAMETER)`` naming the offset of the
    first thing that is not part of such a declaration.
    """
    parser = _Parser(text)
    instance = parser.instance()
    parser.expect_end()
    return instance


@dataclass
class _Token:
    kind: str
    text: str
    offset: int


def _tokens(text: str) -> Iterator[_Token]:
    offset = 0
    while offset < len(text):
        match = _TOKEN.match(text, offset)
        if match is None:
            what = "unterminated string" if text[offset] in "\"'" else f"unexpected {text[offset]!r}"
            raise _error(what, offset)
        kind = match.lastgroup
        assert kind is not None
        if kind != "skip":
            yield _Token(kind, match.group(), offset)
        offset = match.end()
    yield _Token("end", "", offset)


def _describe(token: _Token) -> str:
    return "the end of the text" if token.kind == "end" else repr(token.text)


def _error(message: str, offset: int) -> CIMError:
    return CIMError(CIM_ERR_INVALID_PARAMETER, f"MOF instance: {message} at offset {offset}")


class _Parser:
    """Recursive descent over the token stream, one token of look-ahead."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokens(text)
        self._token = next(self._tokens)

    def instance(self) -> CIMInstance:
        self._keyword("instance")
        self._keyword("of")
        classname = self._take("name").text
        if self._token.kind == "name" and self._token.text.lower() == "as":
            self._advance()
            self._take("alias")
        self._punct("{")
        instance = CIMInstance(classname)
        while not self._at_punct("}"):
            name_token = self._take("name")
            self._punct("=")
            value = self._value()
            self._punct(";")
            # A property given twice keeps its last value, as the MOF libvirt-cim's
            # clients write (VirtualDevice set by two helpers) was read.
            instance.properties.pop(name_token.text, None)
            instance.properties[name_token.text] = _property(name_token, value)
        self._advance()
        if self._at_punct(";"):
            self._advance()
        return instance

    def expect_end(self) -> None:
        if self._token.kind != "end":
            raise _error(f"unexpected {_describe(self._token)} after the instance", self._token.offset)

    def _value(self) -> Any:
        if not self._at_punct("{"):
            return self._scalar()
        self._advance()
        items: list[Any] = []
        while not self._at_punct("}"):
            if items:
                self._punct(",")
            if len(items) == MAX_ARRAY_ITEMS:
                raise _error(f"an array of more than {MAX_ARRAY_ITEMS} items", self._token.offset)
            items.append(self._scalar())
        self._advance()
        return items

    def _scalar(self) -> Any:
        token = self._token
        self._advance()
        if token.kind == "string":
            parts = [_unescape(token)]
            while self._token.kind == "string":  # "a" "b" is one string, "ab"
                parts.append(_unescape(self._token))
                self._advance()
            return "".join(parts)
        if token.kind == "char":
            return _unescape(token)
        if token.kind in _NUMBERS:
            try:
                return _NUMBERS[token.kind](token.text)
            except ValueError:  # more digits than Python converts
                raise _error(f"number {token.text[:20]}... is too long", token.offset) from None
        if token.kind == "name" and token.text.lower() in _LITERALS:
            return _LITERALS[token.text.lower()]
        raise _error(f"expected a value, found {_describe(token)}", token.offset)

    def _keyword(self, word: str) -> None:
        if self._token.kind != "name" or self._token.text.lower() != word:
            raise _error(f"expected {word!r}, found {_describe(self._token)}", self._token.offset)
        self._advance()

    def _take(self, kind: str) -> _Token:
        token = self._token
        if token.kind != kind:
            raise _error(f"expected a {kind}, found {_describe(token)}", token.offset)
        self._advance()
        return token

    def _punct(self, char: str) -> None:
        if not self._at_punct(char):
            raise _error(f"expected {char!r}, found {_describe(self._token)}", self._token.offset)
        self._advance()

    def _at_punct(self, char: str) -> bool:
        return self._token.kind == "punct" and self._token.text == char

    def _advance(self) -> None:
        if self._token.kind != "end":
            self._token = next(self._tokens)


_NUMBERS: dict[str, Callable[[str], int | float]] = {
    "integer": int,
    "hex": lambda text: int(text, 16),
    "real": float,
}
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def _unescape(token: _Token) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return chr(int(match.group(1), 16))
        escaped = _ESCAPED_CHARS.get(match.group(2))
        if escaped is None:
            raise _error(f"unknown escape \\{match.group(2)}", token.offset + match.start())
        return escaped

    return _ESCAPE.sub(replace, token.text[1:-1])


def _property(name: _Token, value: Any) -> CIMProperty:
    items = value if isinstance(value, list) else [value]
    cimtype = _guess_type([item for item in items if item is not None], name)
    if cimtype == "real64":
        value = [None if v is None else float(v) for v in value] if isinstance(value, list) else float(value)
    try:
        return CIMProperty(name.text, value, type=cimtype, is_array=isinstance(value, list))
    except (ValueError, TypeError) as exc:
        raise _error(f"property {name.text!r}: {exc}", name.offset) from None


def _guess_type(items: list[Any], name: _Token) -> str:
    kinds = {bool if isinstance(item, bool) else type(item) for item in items}
    if not kinds or kinds == {str}:
        return "string"
    if kinds == {bool}:
        return "boolean"
    if kinds == {int}:
        if any(item < 0 for item in items):
            return "sint64"
        return "uint64"
    if kinds <= {int, float}:
        return "real64"
    raise _error(f"property {name.text!r} mixes values of different types", name.offset)
