"""One exception hierarchy; every message says what to fix."""


class BrownoutError(Exception):
    """Base of every error brownout raises on purpose."""

    exit_code = 2


class InputError(BrownoutError):
    """The user gave us something we cannot use: a file, a field, a value. Exit code 2."""


class StackError(BrownoutError):
    """A component of the stack could not be started, reached or stopped."""


class FaultError(BrownoutError):
    """A fault could not be injected or healed."""
