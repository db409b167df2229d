"""Lookup in the visible registries (dicts) with an error that teaches the choices."""

from collections.abc import Mapping
from typing import TypeVar

from genlab.errors import GenlabError

T = TypeVar("T")


def choose(registry: Mapping[str, T], name: str, what: str) -> T:
    try:
        return registry[name]
    except KeyError:
        raise GenlabError(f"unknown {what} {name!r}; choose one of {sorted(registry)}") from None
