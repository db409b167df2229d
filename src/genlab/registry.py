"""Lookup in the visible registries (dicts) with an error that teaches the choices."""

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeVar

from genlab.errors import GenlabError

T = TypeVar("T")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """" (did you mean 'x'?)" for the closest choice to a typo, or ""."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_choice(what: str, name: object, choices: Iterable[str]) -> GenlabError:
    choices = list(choices)
    return GenlabError(f"unknown {what} {name!r}{did_you_mean(str(name), choices)}; choose one of {choices}")


def choose(registry: Mapping[str, T], name: str, what: str) -> T:
    try:
        return registry[name]
    except KeyError:
        raise unknown_choice(what, name, sorted(registry)) from None
