"""A small CIM model and fake providers for the operations-layer tests.

The model declares its own qualifiers so that it compiles without the DMTF
schema. The providers keep their instances in dicts and give plain Python
values, as real providers do, so that the tests see the operations layer's
shaping at work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pywbem import (
    CIM_ERR_ALREADY_EXISTS,
    CIM_ERR_NOT_FOUND,
    CIMError,
    CIMInstance,
    CIMInstanceName,
    Uint64,
)

from virtcim.cimxml.messages import ExtrinsicCall, IntrinsicCall, ParamValue
from virtcim.operations import Dispatcher, PullSettings
from virtcim.provider import (
    AssociationProvider,
    InstanceProvider,
    MethodProvider,
    ProviderRegistry,
    cim_method,
)

NS = "root/test"
OTHER_NS = "root/other"

QUALIFIERS = """
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(Restricted);
Qualifier Description : string = null, Scope(any), Flavor(Translatable);
Qualifier ValueMap : string[], Scope(property, method, parameter);
Qualifier Values : string[], Scope(property, method, parameter), Flavor(Translatable);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride);
Qualifier Out : boolean = false, Scope(parameter), Flavor(DisableOverride);
Qualifier EmbeddedInstance : string = null, Scope(property, method, parameter);
Qualifier Override : string = null, Scope(property, reference, method), Flavor(Restricted);
Qualifier Static : boolean = false, Scope(property, method), Flavor(DisableOverride);
"""

SCHEMA = QUALIFIERS + """
[Abstract, Description("Anything managed")]
class T_Element {
    [Description("A label")] string Caption;
};

class T_Host : T_Element {
    [Key] string Name;
    [ValueMap {"2", "3"}, Values {"Enabled", "Disabled"}] uint16 State = 2;
    string Tags[];
};

class T_Setting {
    [Key] string InstanceID;
    uint64 Size;
    boolean Enabled;
    string Tags[];
};

class T_Guest : T_Element {
    [Key] string Name;
    uint32 Memory = 512;

    uint32 Start(
        [In] uint16 Delay,
        [In] T_Host REF Where,
        [In, EmbeddedInstance("T_Setting")] string Setting,
        [In, Out] string Echo,
        [In(false), Out] uint32 Count);

    uint32 Stop();

    [Static] uint32 Create(
        [In] string Name,
        [In(false), Out] T_Guest REF Created);
};

class T_KVMGuest : T_Guest {
    string Emulator;
    [Override("Memory")] uint32 Memory = 1024;
};

[Association, Description("Guests run on hosts")]
class T_Hosted {
    [Key] T_Host REF Antecedent;
    [Key] T_Guest REF Dependent;
};

[Association]
class T_Peer {
    [Key] T_Guest REF Left;
    [Key] T_Guest REF Right;
};
"""


class HostProvider(InstanceProvider):
    """T_Host: hosts in a dict, values given as plain Python values."""

    def __init__(self, names: list[str]) -> None:
        self.hosts: dict[str, dict[str, Any]] = {name: {"Name": name} for name in names}

    def enumerate_instances(self, ctx, classname, property_list):
        for values in self.hosts.values():
            yield ctx.instance(classname, **values)

    def create_instance(self, ctx, instance):
        name = instance["Name"]
        if name in self.hosts:
            raise CIMError(CIM_ERR_ALREADY_EXISTS, f"host {name} exists")
        self.hosts[name] = {k: v for k, v in instance.items() if v is not None}
        return ctx.path("T_Host", Name=name)

    def modify_instance(self, ctx, instance, property_list):
        host = self._host(instance.path)
        for name, value in instance.items():
            if property_list is None or name in property_list:
                host[name] = value

    def delete_instance(self, ctx, path):
        self._host(path)
        del self.hosts[path["Name"]]

    def _host(self, path):
        try:
            return self.hosts[path["Name"]]
        except KeyError:
            raise CIMError(CIM_ERR_NOT_FOUND, f"no host {path['Name']}") from None


class GuestProvider(InstanceProvider, MethodProvider):
    """T_Guest and T_KVMGuest: raw CIMInstances without paths, untyped values."""

    def __init__(self, guests: dict[str, list[str]]) -> None:
        self.guests = guests  # classname -> names
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def enumerate_instances(self, ctx, classname, property_list):
        for name in self.guests.get(classname, []):
            yield CIMInstance(classname, properties={"Name": name, "Memory": Uint64(256)})

    def get_instance(self, ctx, path, property_list):
        if path["Name"] not in self.guests.get(path.classname, []):
            raise CIMError(CIM_ERR_NOT_FOUND, f"no guest {path['Name']}")
        return CIMInstance(path.classname, properties={"Name": path["Name"]})

    @cim_method
    def Start(self, ctx, target, **params):
        self.calls.append((target, params))
        return 0, {"Echo": params.get("Echo"), "Count": 3}

    @cim_method
    def Create(self, ctx, target, Name=None):
        self.calls.append((target, {"Name": Name}))
        return 0, {"Created": ctx.path("T_Guest", Name=Name)}


class LinkProvider(AssociationProvider):
    """An association class served from a list of (end, end) pairs."""

    def __init__(self, classname: str, roles: tuple[str, str],
                 pairs: list[tuple[CIMInstanceName, CIMInstanceName]]) -> None:
        self.classname = classname
        self.roles = roles
        self.pairs = pairs

    def enumerate_instances(self, ctx, classname, property_list):
        for left, right in self.pairs:
            yield ctx.instance(classname, **{self.roles[0]: left, self.roles[1]: right})


def host_path(name: str, namespace: str = NS) -> CIMInstanceName:
    return CIMInstanceName("T_Host", {"Name": name}, namespace=namespace)


def guest_path(name: str, classname: str = "T_Guest", namespace: str = NS) -> CIMInstanceName:
    return CIMInstanceName(classname, {"Name": name}, namespace=namespace)


class World:
    """A dispatcher over the test model with its providers at hand."""

    def __init__(self, repository, pull: PullSettings | None = None, clock=None) -> None:
        self.hosts = HostProvider(["h1", "h2"])
        self.guests = GuestProvider({"T_Guest": ["g1"], "T_KVMGuest": ["k1", "k2"]})
        self.remote_guests = GuestProvider({"T_Guest": ["far"]})
        self.hosted = LinkProvider("T_Hosted", ("Antecedent", "Dependent"), [
            (host_path("h1"), guest_path("g1")),
            (host_path("h1"), guest_path("k1", "T_KVMGuest")),
            (host_path("h2"), guest_path("k2", "T_KVMGuest")),
            (host_path("h2"), guest_path("far", namespace=OTHER_NS)),
            (host_path("h2"), guest_path("gone")),
        ])
        self.peers = LinkProvider("T_Peer", ("Left", "Right"), [
            (guest_path("g1"), guest_path("k1", "T_KVMGuest")),
        ])
        self.registry = ProviderRegistry()
        self.registry.register(NS, ["T_Host"], self.hosts)
        self.registry.register(NS, ["T_Guest", "T_KVMGuest"], self.guests)
        self.registry.register(OTHER_NS, ["T_Guest"], self.remote_guests)
        self.registry.register(NS, ["T_Hosted"], self.hosted)
        self.registry.register(NS, ["T_Peer"], self.peers)
        kwargs = {"clock": clock} if clock else {}
        self.dispatcher = Dispatcher(repository, self.registry, host="server.example",
                                     pull=pull, **kwargs)

    def call(self, name: str, namespace: str = NS, user: str | None = None, **params: Any):
        result = self.dispatcher.intrinsic(IntrinsicCall("1", name, namespace, params), user)
        if isinstance(result, Iterator) or isinstance(result, (map, filter)):
            return list(result)
        return result

    def invoke(self, target, method: str, **params: Any):
        values = {name: ParamValue(name, value) for name, value in params.items()}
        return self.dispatcher.extrinsic(ExtrinsicCall("1", method, target, values))


def cim_status(excinfo) -> int:
    return excinfo.value.status_code
