"""The virtualization host: ``<Prefix>_HostSystem`` (DSP1042 System Virtualization).

One instance per hypervisor, named by the host's fully qualified name as
libvirt reports it (``virConnectGetHostname``). It is the scoping instance of
DSP1042: the guests, services and capabilities of the hypervisor hang off it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pywbem import CIM_ERR_NOT_FOUND, CIMError, CIMInstance, CIMInstanceName

from providers.paths import is_host_path
from providers.valuemaps import (
    Dedicated,
    EnabledState,
    HealthState,
    OperationalStatus,
    RequestedState,
)
from providers.virt import Hypervisor
from virtcim.provider import InstanceProvider, RequestContext

__all__ = ["HostSystemProvider"]

#: ``CIM_System.NameFormat`` for a name that is a DNS host name.
HOST_NAME_FORMAT = "IP"


class HostSystemProvider(InstanceProvider):
    """``<Prefix>_HostSystem``: the one host of a hypervisor (DSP1042's scoping class).

    Reads libvirt's host name and the hypervisor type and version.
    """

    def __init__(self, hypervisor: Hypervisor) -> None:
        self.hypervisor = hypervisor

    def enumerate_instances(
        self, ctx: RequestContext, classname: str, property_list: Sequence[str] | None
    ) -> Iterable[CIMInstance]:
        return [self._instance(ctx, classname)]

    def get_instance(
        self, ctx: RequestContext, path: CIMInstanceName, property_list: Sequence[str] | None
    ) -> CIMInstance:
        if not is_host_path(self.hypervisor, path):
            # The operations layer names the key that matched nothing.
            raise CIMError(CIM_ERR_NOT_FOUND, f"no host {path.keybindings.get('Name')!r} "
                                              f"on {self.hypervisor.uri}")
        return self._instance(ctx, path.classname)

    def _instance(self, ctx: RequestContext, classname: str) -> CIMInstance:
        hv = self.hypervisor
        name = hv.hostname
        return ctx.instance(
            classname,
            CreationClassName=classname,
            Name=name,
            NameFormat=HOST_NAME_FORMAT,
            ElementName=name,
            Caption="Host System",
            Description=f"Virtualization host of {hv.uri}",
            EnabledState=EnabledState.ENABLED,
            RequestedState=RequestedState.NOT_APPLICABLE,
            HealthState=HealthState.OK,
            OperationalStatus=[OperationalStatus.OK],
            Dedicated=[Dedicated.NOT_DEDICATED],
        )
