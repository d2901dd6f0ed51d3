"""Small reads and edits of lxml trees shared by the domain model and the settings mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

__all__ = [
    "attribute",
    "child",
    "first_attribute",
    "integer",
    "maybe_child",
    "remove",
    "set_attrs",
    "set_flag_child",
]


def attribute(element: etree._Element, path: str, name: str) -> str | None:
    """Attribute ``name`` of the first ``path`` below ``element``, if both exist."""
    child = element.find(path)
    return child.get(name) if child is not None else None


def first_attribute(element: etree._Element | None, names: Sequence[str]) -> str | None:
    """The first of ``names`` that ``element`` carries (libvirt has synonyms: file, dev, dir)."""
    if element is None:
        return None
    return next((element.get(name) for name in names if name in element.attrib), None)


def integer(text: str | None) -> int | None:
    """An integer attribute or text; absent or unparsable values are ``None``."""
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def remove(element: etree._Element) -> None:
    """Remove ``element``, keeping the text that followed it in the document."""
    parent = element.getparent()
    previous = element.getprevious()
    if previous is not None:
        previous.tail = element.tail
    else:
        parent.text = element.tail
    parent.remove(element)


def child(
    parent: etree._Element,
    tag: str,
    *,
    before: Sequence[str] = (),
    order: Sequence[str] = (),
) -> etree._Element:
    """The ``tag`` child of ``parent``, created if absent: in ``order``'s place, or
    before the first of ``before``, or last."""
    element = parent.find(tag)
    if element is not None:
        return element
    element = etree.Element(tag)
    if order and tag in order:
        later = order[order.index(tag) + 1:]
        anchor = next((sibling for sibling in parent if sibling.tag in later), None)
    else:
        anchor = next((sibling for sibling in parent if sibling.tag in before), None)
    if anchor is not None:
        anchor.addprevious(element)
    else:
        parent.append(element)
    return element


def maybe_child(
    parent: etree._Element, tag: str, values: Mapping[str, Any], names: Sequence[str]
) -> etree._Element | None:
    """The ``tag`` child when one of ``names`` is given (created if needed), else None."""
    if any(name in values for name in names):
        return child(parent, tag)
    return None


def set_attrs(element: etree._Element | None, attrs: Mapping[str, str | None]) -> None:
    if element is None:
        return
    for name, value in attrs.items():
        if value is not None:
            element.set(name, str(value))


def set_flag_child(element: etree._Element, tag: str, present: bool) -> None:
    child = element.find(tag)
    if present and child is None:
        element.append(etree.Element(tag))
    elif not present and child is not None:
        remove(child)
