"""The errors a user can act on. Library code raises these; only the command layer (hush.cli) turns them
into one-line messages, and `exit_code` is the code the command exits with."""

from __future__ import annotations


class HushError(Exception):
    """Something the user can fix or must know; the message says what, where and what was expected."""

    exit_code = 2


class InputError(HushError, ValueError):
    """Bad input: a file, a value, a flag. Exit code 2."""


class NotConnected(HushError, TimeoutError):
    """No peer answered in time (no daemon subscribed, no reply on the control socket). Exit code 1."""

    exit_code = 1
