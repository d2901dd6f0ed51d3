"""The provider API: how CIM classes are served by Python code.

A provider is a Python object registered, per namespace, for the CIM classes
it serves (leaf classes: ``KVM_ComputerSystem``, not ``CIM_ComputerSystem``).
The operations layer routes each request to the providers of the class and
of its subclasses, and handles once, for every provider, what DSP0200 asks of
all of them: property lists, qualifiers, class origin, deep inheritance, the
association filters (Role, ResultRole, AssocClass, ResultClass) and pulled
enumerations. So a provider only produces and changes instances:

.. code-block:: python

    class GreetingProvider(InstanceProvider, MethodProvider):
        '''Demo_Greeting: one instance per configured greeting.'''

        def enumerate_instances(self, ctx, classname, property_list):
            for name, text in self.greetings.items():
                yield ctx.instance(classname, Name=name, Text=text)

        @cim_method
        def Shout(self, ctx, target, Volume=None):
            return 0, {"Echo": self.greetings[target["Name"]].upper()}

Providers raise :class:`pywbem.CIMError` for failures a client should see,
with a message naming the object (``no guest 'web1' on qemu:///system``).
Anything else they raise is reported as ``CIM_ERR_FAILED`` and logged.

What the operations layer has checked before any provider method is called:
the namespace exists; the class exists in it, named as the repository names
it (the ``classname`` and every path's class are its canonical spelling);
the provider is the one registered for that exact class. Each method's
docstring says what else is checked, and what is left to the provider. A
provider always checks the *values* it is given against the objects it
serves (a key that names no guest, a setting libvirt cannot take), and
never trusts a string to be well formed: every value came from a client.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pywbem import (
    CIM_ERR_NOT_FOUND,
    CIM_ERR_NOT_SUPPORTED,
    CIMClassName,
    CIMError,
    CIMInstance,
    CIMInstanceName,
)

if TYPE_CHECKING:
    from virtcim.jobs import JobRegistry
    from virtcim.repository.schema import Repository

__all__ = [
    "AssociationProvider",
    "Cimom",
    "InstanceProvider",
    "MethodProvider",
    "Provider",
    "ProviderRegistry",
    "RequestContext",
    "SharedInstance",
    "UnsupportedMethod",
    "cim_method",
    "refers_to",
    "same_keys",
]


T = TypeVar("T")


class Cimom(Protocol):
    """What a provider may ask of the rest of the server during a request.

    Associations use it to reach the instances at their ends, and the interop
    providers to find the central instances in another namespace. Each call
    goes through the providers of the named class (and its subclasses).
    """

    def get_instance(self, ctx: RequestContext, path: CIMInstanceName) -> CIMInstance: ...

    def enumerate_instances(
        self, ctx: RequestContext, namespace: str, classname: str
    ) -> Iterator[CIMInstance]: ...

    def enumerate_instance_names(
        self, ctx: RequestContext, namespace: str, classname: str
    ) -> Iterator[CIMInstanceName]: ...


@dataclass
class RequestContext:
    """Who asks, where, and the server's services, for one request.

    ``namespace`` is the canonical name of the request's namespace and
    ``host`` the name the server writes into full paths. ``addressed`` is
    the namespace as the client named it (perhaps an alias, or in another
    case); ``None`` when unknown.
    """

    namespace: str
    repository: Repository
    cimom: Cimom
    user: str | None = None
    host: str = "localhost"
    addressed: str | None = None
    #: Where a method whose work outlasts the request starts its job; ``None``
    #: where the server keeps no jobs (the work is then done before returning).
    jobs: JobRegistry | None = None
    #: What :meth:`memo` keeps; shared by the contexts of one request.
    memos: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def instance(self, classname: str, /, **values: Any) -> CIMInstance:
        """A typed instance of ``classname`` in this namespace, path included.

        Plain Python values are converted to the types the class declares, so
        providers write ``EnabledState=2`` rather than ``Uint16(2)``.
        """
        return self.repository.build_instance(self.namespace, classname, values)

    def shared_instance(self, classname: str, /, **values: Any) -> SharedInstance:
        """:meth:`instance`, made as a :class:`SharedInstance`."""
        return self.repository.build_instance(self.namespace, classname, values, SharedInstance)

    def path(self, classname: str, /, namespace: str | None = None, **keys: Any) -> CIMInstanceName:
        """A typed instance path of ``classname`` (in this namespace unless told)."""
        return self.repository.build_path(namespace or self.namespace, classname, keys)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, made once per request and ``key``.

        For what several providers of one request would otherwise each ask
        for again, such as one listing of a hypervisor's guests for the
        device classes of a deep enumeration. The value lives as
        long as the request (a pulled enumeration's, until its last pull).
        """
        try:
            return self.memos[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self.memos[key] = make()
            return value

    def within(self, namespace: str) -> RequestContext:
        """The same request, reaching into ``namespace``."""
        return replace(self, namespace=namespace, addressed=None)


class SharedInstance(CIMInstance):
    """An instance a provider returns again and again, unchanged, while what it shows holds.

    A provider that keeps its instances (for as long as the object they
    describe is unchanged) returns them as ``SharedInstance``: the server
    then shapes and encodes each once per request view and reuses that work
    while the provider keeps returning the same object. Nobody may change a
    shared instance; a provider makes a new one when what it shows changes.
    Plain ``CIMInstance`` objects are shaped and encoded afresh every time.
    """

    __slots__ = ("shaped",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The server's shaped forms of this instance, by namespace and shaping plan
        #: (of its class, or of the classes of an enumeration).
        self.shaped: dict[Any, CIMInstance] = {}


class Provider:
    """Base of every provider. Subclasses mix in the capabilities below."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class InstanceProvider(Provider):
    """Serves the instances of its classes.

    Only :meth:`enumerate_instances` is required; the others have correct
    but slow defaults or answer ``CIM_ERR_NOT_SUPPORTED``.
    """

    #: The key a path of this provider's classes cannot lack, and what it names
    #: (``("Name", "domain name")``): without it a request fails
    #: (``CIM_ERR_FAILED``, "Missing Name: No domain name specified") rather
    #: than finding nothing, as libvirt-cim's providers that read a guest out
    #: of it answered, and its clients check. ``None``: any missing key finds
    #: nothing.
    identifier: ClassVar[tuple[str, str] | None] = None

    #: Properties (lower-cased names) a query's equalities on which this
    #: provider answers with a lookup (:meth:`enumerate_where`), such as a
    #: guest's ``{"name"}``: a query ``WHERE Name = 'web1'`` then costs one
    #: guest's work, not a listing.
    lookup_properties: ClassVar[frozenset[str]] = frozenset()

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        """Every instance of exactly ``classname``, each with its path.

        ``property_list`` is a hint (``None``: all properties): a provider may
        skip work for properties the client did not ask for; the operations
        layer filters anyway.

        Checked before: nothing beyond the class. Done after, by the
        operations layer: property lists, qualifiers, class origin, deep
        inheritance and typing against the class declaration (a provider
        returns plain values through :meth:`RequestContext.instance`).
        """
        raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{classname} cannot be enumerated")

    def enumerate_instances_of(
        self, ctx: RequestContext, classnames: Sequence[str], property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        """Every instance of each of ``classnames``, all served by this provider, in any order.

        An enumeration that reaches several classes of one provider (a deep
        enumeration of their superclass) asks for them in one call; each
        instance must be of one of ``classnames``. The default asks
        :meth:`enumerate_instances` class by class. A provider that finds
        the instances of all its classes on one walk over the same objects
        (each guest's resource settings of every kind) walks once.

        Checked before and done after: as for :meth:`enumerate_instances`.
        """
        for classname in classnames:
            yield from self.enumerate_instances(ctx, classname, property_list)

    def enumerate_where(
        self, ctx: RequestContext, classnames: Sequence[str],
        property_list: Sequence[str] | None, values: Mapping[str, frozenset[Any]],
    ) -> Iterable[CIMInstance]:
        """The instances of ``classnames`` whose properties have the ``values`` a query asks for.

        ``values`` maps lower-cased names of :attr:`lookup_properties` to the
        values one of which the property must have (``{"name": {"web1"}}``
        for ``WHERE Name = 'web1'``), as the query wrote them (a string, a
        number, a boolean). A provider that finds those instances with a
        lookup rather than a listing overrides this; it may return more
        instances than asked for, never fewer: the operations layer tests
        every instance against the whole query. The default lists them all
        (:meth:`enumerate_instances_of`).

        Checked before: the query parses and names properties of the class.
        Left to the provider: that a value, whatever its type, names nothing
        rather than failing (``WHERE Name = 42`` finds no guest).
        """
        return self.enumerate_instances_of(ctx, classnames, property_list)

    def enumerate_instance_names(
        self, ctx: RequestContext, classname: str
    ) -> Iterable[CIMInstanceName]:
        """The paths of every instance of exactly ``classname``.

        Checked before: as for :meth:`enumerate_instances`. The default
        enumerates the instances with no properties asked for.
        """
        return (inst.path for inst in self.enumerate_instances(ctx, classname, []))

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        """The instance at ``path``; ``CIM_ERR_NOT_FOUND`` when there is none.

        Checked before: ``path`` has a value for every key of its class and
        carries only those keys, in this namespace (a path lacking one is
        refused as :attr:`identifier` says). Left to the provider: whether
        the key values name an object, and their types and form (a key is
        whatever the client sent: a string where an integer was meant, a
        name with a ``/``). The operations layer words a ``CIM_ERR_NOT_FOUND``
        for libvirt-cim's clients, naming the key that matched nothing,
        unless the provider's message starts ``No such instance``.
        """
        for inst in self.enumerate_instances(ctx, path.classname, property_list):
            if same_keys(inst.path, path):
                return inst
        raise CIMError(CIM_ERR_NOT_FOUND, f"no instance {path}")

    def create_instance(self, ctx: RequestContext, instance: CIMInstance) -> CIMInstanceName:
        """Create ``instance`` and return its path.

        Checked before: every property is declared by the class and typed as
        declared. Left to the provider: which properties it requires, their
        values, and refusing an instance that exists (``CIM_ERR_ALREADY_EXISTS``).
        """
        raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{instance.classname} instances cannot be created")

    def modify_instance(
        self, ctx: RequestContext, instance: CIMInstance, property_list: Sequence[str] | None
    ) -> None:
        """Change the instance at ``instance.path`` to the values given.

        ``property_list`` names the properties to change (``None``: all of
        those present in ``instance``).

        Checked before: the instance has a path, its properties and the
        ``property_list`` names are declared and typed (names in the class's
        spelling). Left to the provider: that the path names an object, and
        which properties may change.
        """
        raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{instance.classname} instances cannot be modified")

    def delete_instance(self, ctx: RequestContext, path: CIMInstanceName) -> None:
        """Delete the instance at ``path``.

        Checked before: the class has a provider. Left to the provider: that
        every key is there and names an object (``CIM_ERR_NOT_FOUND``).
        """
        raise CIMError(CIM_ERR_NOT_SUPPORTED, f"{path.classname} instances cannot be deleted")


class AssociationProvider(InstanceProvider):
    """Serves an association class: its instances are the links.

    The operations layer answers References, ReferenceNames, Associators and
    AssociatorNames from :meth:`references` alone: it reads the other ends
    from each link, applies ResultRole and ResultClass, and fetches the
    instances at those ends from their own providers.
    """

    def references(
        self, ctx: RequestContext, classname: str, source: CIMInstanceName, role: str | None
    ) -> Iterable[CIMInstance]:
        """The links of association ``classname`` that point at ``source``.

        ``role``, when given, names the reference property that must point
        at ``source``. The default scans every link; providers over large
        sets override it so that one object's links cost one object's work.

        Checked before: ``source`` names an instance that exists (its own
        provider's GetInstance found it) and is given by its keys alone;
        AssocClass, ResultClass, Role and ResultRole name what they should.
        Done after: the ResultRole and ResultClass filters, and fetching the
        other ends. Left to the provider: only links where ``source`` stands
        at ``role`` (any role when ``None``).
        """
        for link in self.enumerate_instances(ctx, classname, None):
            if refers_to(link, source, role):
                yield link


F = TypeVar("F", bound=Callable[..., Any])


def cim_method(func: F) -> F:
    """Mark a provider method as the implementation of the CIM method of its name.

    It is called as ``func(ctx, target, **params)`` with ``target`` the
    instance or class path and ``params`` the input parameters, typed by the
    method's declaration (only those the client sent). It returns the return
    value, or ``(return_value, {output name: value})``.

    Checked before: the class declares the method; every parameter sent is
    an input parameter of it, given once, typed as declared (embedded
    instances re-typed against their own class, which must be of the
    declared one; a blank reference, as libvirt-cim's clients send an absent
    one, is ``None``); an instance ``target`` exists (its GetInstance found
    it). Done after: the return value and outputs typed as declared. Left
    to the provider: parameters it requires (a missing one is simply not in
    ``params``), the values of everything, and embedded instances' properties
    beyond their types.
    """
    func.__cim_method__ = True  # type: ignore[attr-defined]
    return func


class UnsupportedMethod(CIMError):
    """``CIM_ERR_NOT_SUPPORTED`` from a method its class declares but its provider does not
    support (DSP0200: "not supported ... on behalf of a provided class"). A method's
    client gets it as it is, where any other ``CIM_ERR_NOT_SUPPORTED`` (a libvirt
    refusal) becomes ``CIM_ERR_FAILED``."""

    def __init__(self, message: str) -> None:
        super().__init__(CIM_ERR_NOT_SUPPORTED, message)


class MethodProvider(Provider):
    """Serves extrinsic methods, each a Python method marked :func:`cim_method`."""

    def method(self, name: str) -> Callable[..., Any] | None:
        """The implementation of CIM method ``name`` (as the class declares it)."""
        func = getattr(self, name, None)
        return func if getattr(func, "__cim_method__", False) else None


class ProviderRegistry:
    """Which provider serves which class, per namespace.

    Class and namespace names compare case-insensitively, as DSP0004 says.
    """

    def __init__(self) -> None:
        self._providers: dict[tuple[str, str], Provider] = {}
        self._views: set[tuple[str, str]] = set()

    def register(self, namespace: str, classnames: Iterable[str], provider: Provider) -> None:
        for classname in classnames:
            key = (namespace.lower(), classname.lower())
            if key in self._providers:
                raise ValueError(f"{classname} in {namespace} already has a provider")
            self._providers[key] = provider

    def register_view(self, namespace: str, classnames: Iterable[str], provider: Provider) -> None:
        """Register ``provider`` for view classes.

        A view class shows, under its own name, objects that a superclass
        already shows (libvirt-cim's ``KVM_RegisteredProfile`` shows the
        profiles ``CIM_RegisteredProfile`` shows). So that a client sees each
        object once, an enumeration or traversal that names a superclass
        passes over the views below it: only one that names the view (or a
        class below it) reaches it.
        """
        classnames = list(classnames)
        self.register(namespace, classnames, provider)
        self._views.update((namespace.lower(), name.lower()) for name in classnames)

    def passes_over(self, repository: Repository, namespace: str, classname: str,
                    asked: str) -> bool:
        """Whether a request naming ``asked`` passes over its subclass ``classname``.

        True when ``classname`` or one of its superclasses below ``asked`` is
        a view class.
        """
        if not self._views:
            return False
        ns = namespace.lower()
        stop = asked.lower()
        for name in (classname, *repository.superclassnames(namespace, classname)):
            if name.lower() == stop:
                return False
            if (ns, name.lower()) in self._views:
                return True
        return False

    def provider_for(self, namespace: str, classname: str) -> Provider | None:
        return self._providers.get((namespace.lower(), classname.lower()))

    def classnames(self, namespace: str) -> list[str]:
        """The lower-cased names of the classes served in ``namespace``."""
        ns = namespace.lower()
        return [cls for (space, cls) in self._providers if space == ns]


def same_keys(a: CIMInstanceName, b: CIMInstanceName) -> bool:
    """Whether two paths name the same instance in a namespace.

    Class names compare case-insensitively, key names too (pywbem's
    keybindings are a case-insensitive dict), key values exactly.
    """
    if a.classname.lower() != b.classname.lower():
        return False
    if len(a.keybindings) != len(b.keybindings):
        return False
    return all(
        name in b.keybindings and _key_equal(value, b.keybindings[name])
        for name, value in a.keybindings.items()
    )


def same_object(a: CIMInstanceName, b: CIMInstanceName) -> bool:
    """Whether two references name the same instance (:func:`same_keys`, in one namespace)."""
    return same_keys(a, b) and _same_namespace(a.namespace, b.namespace)


def _key_equal(a: Any, b: Any) -> bool:
    if isinstance(a, CIMInstanceName) and isinstance(b, CIMInstanceName):
        return same_object(a, b)
    return bool(a == b)


def _same_namespace(a: str | None, b: str | None) -> bool:
    # A reference without a namespace means "the namespace of the request".
    return a is None or b is None or a.strip("/").lower() == b.strip("/").lower()


def refers_to(link: CIMInstance, target: CIMInstanceName, role: str | None) -> bool:
    """Whether association instance ``link`` points at ``target``."""
    props: Mapping[str, Any] = link.properties
    names = [role] if role else list(props)
    for name in names:
        prop = props.get(name)
        if prop is not None and isinstance(prop.value, CIMInstanceName):
            if _key_equal(prop.value, target):
                return True
    return False


def class_path(target: CIMInstanceName | CIMClassName) -> CIMClassName:
    """The class path of an instance or class target."""
    return CIMClassName(target.classname, namespace=target.namespace, host=target.host)
