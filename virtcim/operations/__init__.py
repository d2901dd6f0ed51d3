"""The operations layer: DSP0200 semantics over the repository and the providers."""

from virtcim.operations.dispatcher import Dispatcher
from virtcim.operations.pull import PullSettings
from virtcim.operations.static import StaticInstanceProvider, register_static_instances

__all__ = [
    "Dispatcher",
    "PullSettings",
    "StaticInstanceProvider",
    "register_static_instances",
]
