"""LIKE patterns, matched in time proportional to pattern times text, whatever the pattern.

Two dialects:

* ``sql`` (WQL): ``%`` any run of characters, ``_`` any one character,
  ``[abc]``, ``[a-z]`` and ``[^abc]`` one character of (or not of) a set;
  everything else stands for itself.
* ``regex`` (DMTF:CQL and DMTF:FQL): ``.`` any one character, ``*`` any
  number of repetitions of the atom before it, the same sets, and ``\\``
  taking the next character as itself; everything else stands for itself.

A pattern is compiled into a list of atoms, each a character test that may
repeat, and matched by walking the set of atoms reached so far over the text
(a non-backtracking automaton): queries come from clients, and a pattern
such as ``.*.*.*.*x`` must not cost exponential time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["PatternError", "like"]

Test = Callable[[str], bool]


class PatternError(ValueError):
    """A pattern that cannot be read (an unclosed set, a dangling escape)."""


@dataclass(frozen=True)
class _Atom:
    test: Test
    repeats: bool


def like(dialect: str, pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches ``pattern`` of ``dialect`` (``sql`` or ``regex``)."""
    return _matches(_compile(dialect, pattern), text)


@lru_cache(maxsize=256)
def _compile(dialect: str, pattern: str) -> tuple[_Atom, ...]:
    atoms: list[_Atom] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            test, i = _char_set(pattern, i)
        elif dialect == "sql" and char == "%":
            atoms.append(_Atom(_any, True))
            i += 1
            continue
        elif (dialect == "sql" and char == "_") or (dialect == "regex" and char == "."):
            test, i = _any, i + 1
        elif dialect == "regex" and char == "\\":
            if i + 1 == len(pattern):
                raise PatternError(f"pattern {pattern!r} ends with a lone backslash")
            test, i = _literal(pattern[i + 1]), i + 2
        elif dialect == "regex" and char == "*":
            raise PatternError(f"'*' at {i + 1} of pattern {pattern!r} repeats nothing")
        else:
            test, i = _literal(char), i + 1
        repeats = dialect == "regex" and pattern[i:i + 1] == "*"
        atoms.append(_Atom(test, repeats))
        i += repeats
    return tuple(atoms)


def _any(char: str) -> bool:
    return True


def _literal(wanted: str) -> Test:
    return wanted.__eq__


def _char_set(pattern: str, start: int) -> tuple[Test, int]:
    """The set opening at ``pattern[start]`` (``[``) and the index after it."""
    i = start + 1
    negated = pattern[i:i + 1] == "^"
    i += negated
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        first = False
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            i += 1
            char = pattern[i]
        if pattern[i + 1:i + 2] == "-" and pattern[i + 2:i + 3] not in ("", "]"):
            ranges.append((char, pattern[i + 2]))
            i += 3
        else:
            chars.add(char)
            i += 1
    if i >= len(pattern):
        raise PatternError(f"'[' at {start + 1} of pattern {pattern!r} is never closed")

    def test(char: str) -> bool:
        found = char in chars or any(low <= char <= high for low, high in ranges)
        return found != negated

    return test, i + 1


def _matches(atoms: tuple[_Atom, ...], text: str) -> bool:
    states = _closure(atoms, {0})
    for char in text:
        following = set()
        for state in states:
            if state < len(atoms) and atoms[state].test(char):
                following.add(state if atoms[state].repeats else state + 1)
        if not following:
            return False
        states = _closure(atoms, following)
    return len(atoms) in states


def _closure(atoms: tuple[_Atom, ...], states: set[int]) -> set[int]:
    """``states`` and every state reached from them by skipping repeating atoms."""
    reached = set(states)
    for state in sorted(states):
        while state < len(atoms) and atoms[state].repeats:
            state += 1
            reached.add(state)
    return reached
