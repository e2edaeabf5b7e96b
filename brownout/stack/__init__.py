"""The stack supervisor: start a target's processes from stack.toml, keep them, act on them, stop them."""

from brownout.stack.layout import PortPolicy
from brownout.stack.spec import ComponentSpec, ProxySpec, StackSpec, load_stack_spec
from brownout.stack.stack import Stack
from brownout.stack.status import ComponentStateError, ComponentStatus, UnknownComponentError

__all__ = [
    "ComponentSpec",
    "ComponentStateError",
    "ComponentStatus",
    "PortPolicy",
    "ProxySpec",
    "Stack",
    "StackSpec",
    "UnknownComponentError",
    "load_stack_spec",
]
