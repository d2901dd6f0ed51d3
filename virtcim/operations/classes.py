"""Class and qualifier operations, answered from the class repository.

The schema is compiled from MOF at start-up and read-only afterwards, so the
operations that would change it answer ``CIM_ERR_NOT_SUPPORTED``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import (
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClass,
    CIMError,
    CIMQualifierDeclaration,
)

from virtcim.operations.shaping import shaped_class
from virtcim.repository.schema import Repository

__all__ = ["ClassOperations"]


class ClassOperations:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    def get_class(self, namespace: str, args: dict[str, Any]) -> CIMClass:
        # DSP0200 answers GetClass of a missing class with NOT_FOUND, where
        # every other operation says INVALID_CLASS.
        cls = self._repository.find_class(namespace, args["ClassName"])
        if cls is None:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no class {args['ClassName']!r} in {namespace}")
        return shaped_class(cls, args["LocalOnly"], args["IncludeQualifiers"],
                            args["IncludeClassOrigin"], args["PropertyList"])

    def enumerate_classes(self, namespace: str, args: dict[str, Any]) -> Iterator[CIMClass]:
        names = self._subclassnames(namespace, args["ClassName"], args["DeepInheritance"])
        return (
            shaped_class(self._repository.get_class(namespace, name), args["LocalOnly"],
                         args["IncludeQualifiers"], args["IncludeClassOrigin"])
            for name in names
        )

    def enumerate_class_names(self, namespace: str, args: dict[str, Any]) -> list[str]:
        return self._subclassnames(namespace, args["ClassName"], args["DeepInheritance"])

    def get_qualifier(self, namespace: str, args: dict[str, Any]) -> CIMQualifierDeclaration:
        return self._repository.get_qualifier(namespace, args["QualifierName"]).copy()

    def enumerate_qualifiers(self, namespace: str, args: dict[str, Any]
                             ) -> list[CIMQualifierDeclaration]:
        return [decl.copy() for decl in self._repository.qualifiers(namespace)]

    def refuse_change(self, namespace: str, args: dict[str, Any]) -> None:
        raise CIMError(CIM_ERR_NOT_SUPPORTED,
                       "the schema is read-only: classes and qualifiers cannot be changed")

    def _subclassnames(self, namespace: str, classname: str | None, deep: bool) -> list[str]:
        """Subclasses of ``classname``; with no class, the root classes (or every class)."""
        if classname is not None:
            classname = self._repository.get_class(namespace, classname).classname
        return self._repository.subclassnames(namespace, classname, deep)
