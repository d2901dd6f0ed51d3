"""Small reads and edits of lxml trees shared by the domain model and the settings mapping."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

__all__ = ["attribute", "first_attribute", "integer", "remove"]


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
