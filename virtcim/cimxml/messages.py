"""The objects that pass between the CIM-XML codec and the operations layer.

The decoder turns a request body into an :class:`IntrinsicCall` or an
:class:`ExtrinsicCall`; the operations layer answers with one of the result
types below, and the encoder turns that into a response body. Values are
pywbem objects (``CIMInstanceName``, ``CIMInstance``, ``CIMClass``,
``CIMQualifierDeclaration``, ``Uint16``...) so that nothing here knows about
XML and nothing in the codec knows about providers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pywbem import CIMClass, CIMClassName, CIMInstanceName


@dataclass
class IntrinsicCall:
    """An ``IMETHODCALL``: one of the DSP0200 intrinsic operations.

    ``params`` maps each IPARAMVALUE name, spelled as DSP0200 spells it
    (``ClassName``, ``DeepInheritance``, ``MaxObjectCount``...), to a value the
    decoder has already typed: ``bool`` for the boolean flags, ``int`` for
    counts and timeouts, ``list[str]`` for ``PropertyList``, ``CIMClassName``
    for class names, ``CIMInstanceName`` for instance names (namespace set to
    the call's namespace), ``CIMInstance`` for instances (``ModifiedInstance``
    carries its path), ``str`` for everything else. A parameter that was sent
    without a value (``<IPARAMVALUE NAME="X"></IPARAMVALUE>``) maps to ``None``.
    """

    message_id: str
    name: str
    namespace: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParamValue:
    """One ``PARAMVALUE`` of an extrinsic call, before it is typed.

    The decoder cannot know a parameter's CIM type: that comes from the
    method's declaration in the class. So it keeps what the wire said:
    ``value`` is a ``str`` or ``list[str]`` for plain values, a
    ``CIMInstanceName`` (or list) for references, and a ``CIMInstance`` (or
    list) for embedded instances, whether they came as escaped CIM-XML, as a
    nested ``INSTANCE`` or as MOF text. ``paramtype`` is the PARAMTYPE
    attribute when the client sent one.
    """

    name: str
    value: Any
    paramtype: str | None = None


@dataclass
class ExtrinsicCall:
    """A ``METHODCALL``: a method of a class or of an instance.

    ``target`` is a ``CIMInstanceName`` or a ``CIMClassName`` whose namespace
    is set. ``params`` is keyed by parameter name as sent.
    """

    message_id: str
    name: str
    target: CIMInstanceName | CIMClassName
    params: dict[str, ParamValue] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.target.namespace


@dataclass
class PullResult:
    """The answer of an ``Open*`` or ``Pull*`` operation.

    ``items`` are ``CIMInstance`` objects with full paths (host and namespace
    set) for the instance operations, ``CIMInstanceName`` objects with host and
    namespace for the path operations. ``context`` is empty when
    ``end_of_sequence`` is true. ``query_result_class`` is the class that
    describes OpenQueryInstances' instances, when the client asked for it.
    """

    items: list[Any]
    end_of_sequence: bool
    context: str
    query_result_class: CIMClass | None = None


@dataclass
class MethodResult:
    """The answer of an extrinsic method: a typed return value and outputs.

    ``return_value`` is a pywbem typed value (``Uint32(0)``) and
    ``out_params`` maps each output parameter name to a typed value
    (references as ``CIMInstanceName``, embedded instances as
    ``CIMInstance``, arrays as lists).
    """

    return_value: Any
    out_params: dict[str, Any] = field(default_factory=dict)


#: What each intrinsic operation's result is, for the encoder: the operations
#: layer returns, for
#:
#: - ``GetClass``: a ``CIMClass``
#: - ``EnumerateClasses``: an iterable of ``CIMClass``
#: - ``EnumerateClassNames``: an iterable of ``str``
#: - ``GetInstance``: a ``CIMInstance`` (its path is not written)
#: - ``EnumerateInstances``: an iterable of ``CIMInstance`` with local paths
#: - ``EnumerateInstanceNames``: an iterable of ``CIMInstanceName``
#: - ``Associators``/``References``: an iterable of ``CIMInstance`` whose
#:   paths carry host and namespace (``VALUE.OBJECTWITHPATH``)
#: - ``AssociatorNames``/``ReferenceNames``: an iterable of ``CIMInstanceName``
#:   with host and namespace (``OBJECTPATH``)
#: - ``CreateInstance``: a ``CIMInstanceName``
#: - ``ModifyInstance``, ``DeleteInstance``, ``SetProperty``,
#:   ``CloseEnumeration``: ``None``
#: - ``GetProperty``: the typed property value (``None`` for NULL)
#: - ``GetQualifier``: a ``CIMQualifierDeclaration``;
#:   ``EnumerateQualifiers``: an iterable of them
#: - ``EnumerationCount``: an ``int`` or ``None`` (unknown)
#: - ``Open*`` and ``Pull*``: a :class:`PullResult`
IntrinsicResult = Any

#: Iterables the encoder may consume lazily, so that large enumerations can be
#: streamed as chunks.
Items = Iterable[Any]


class RequestError(Exception):
    """A request that gets no CIM-XML answer, only an HTTP error status.

    ``cim_error`` is the DSP0200 value of the ``CIMError`` response header
    (``request-not-well-formed``, ``header-mismatch``...).
    """

    def __init__(self, status: int, cim_error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.cim_error = cim_error


class CallError(Exception):
    """A CIM error found while decoding a call whose envelope was sound.

    It is answered in CIM-XML (``ERROR`` inside the method response), so it
    carries what the response needs: the message id and the method's name.
    """

    def __init__(self, error: Exception, message_id: str, name: str, intrinsic: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.message_id = message_id
        self.name = name
        self.intrinsic = intrinsic
