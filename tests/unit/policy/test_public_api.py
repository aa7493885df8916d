"""chainproof.policy's public surface: ``__all__`` is sorted and names everything it exports."""

from __future__ import annotations
import __future__

import inspect

import chainproof.policy as policy


def test_all_is_sorted_and_complete() -> None:
    assert policy.__all__ == sorted(policy.__all__)
    exported = {
        name
        for name, value in vars(policy).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)
    }
    assert exported == set(policy.__all__)
