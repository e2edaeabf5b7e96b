"""The plugin's per-environment books live as long as their Locust environment, no longer."""

from __future__ import annotations

import gc

from locust.env import Environment

from brownout.plugin import hooks


def test_books_are_per_environment_and_released_with_it() -> None:
    first, second = Environment(user_classes=[]), Environment(user_classes=[])
    hooks.acknowledge(first, "messages", "m-1")
    hooks.acknowledge(second, "messages", "m-2")
    assert hooks._books_for(first).ledger.acknowledged["messages"] == ["m-1"]
    before = len(hooks._books)
    del first
    gc.collect()
    assert len(hooks._books) == before - 1
    assert hooks._books_for(second).ledger.acknowledged["messages"] == ["m-2"]
