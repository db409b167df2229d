"""A model family's record: what genlab knows about a family, in one place, registered once.

A family is its config class with presets (the settings), its model (``families/``: the networks and what a
trained model does), its trainer (``training/``: one step per batch, its pictures, its state) and its data
builder, plus how it is shown: its title, the history columns that say how training goes, its grid kinds.
Everything that differs between families (the command line, training and resuming, loading a run, scoring,
report pages, the runs table) reads it from here; what a model can do for scoring (sample, translate,
reconstruct) is asked of the model itself.

The model, trainer and data builder may be given as ``"package.module:attribute"``: imported on first use, so that
reading settings (the command line's usage errors) never waits for torch. A family of one's own is one module
with these pieces and one ``register(Family(...))`` call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genlab.errors import GenlabError
from genlab.registry import choose

Ref = Callable[..., Any] | str  # a callable, or "module:attribute" naming one
Preset = Callable[[dict[str, Any]], dict[str, Any]]  # the user's settings -> the preset's values


def resolve_ref(ref: Ref) -> Callable[..., Any]:
    if not isinstance(ref, str):
        return ref
    module, _, path = ref.partition(":")
    found: Any = importlib.import_module(module)
    for attribute in path.split("."):  # "module:Class.method" too
        found = getattr(found, attribute)
    return found


@dataclass(frozen=True)
class Family:
    name: str  # as typed: genlab train NAME
    title: str  # as shown: "DCGAN"
    help: str  # one line for --help: "a DCGAN (GAN, LSGAN, WGAN or WGAN-GP loss)"
    config: type  # the frozen dataclass of its settings (with the run, input, speed and scores groups)
    presets: Mapping[str, Preset]
    preset_help: Mapping[str, str]  # preset -> what it sets, in one line
    model: Ref  # config -> the model (networks; sample / translate / reconstruct)
    trainer: Ref  # (config, what the data builder returned besides the dataset) -> the trainer
    data: Ref  # config -> (the training dataset, what else the trainer needs)
    key_columns: tuple[str, ...]  # the history columns that say how training goes (last losses in tables)
    grid_kinds: Mapping[str, str] = field(default_factory=dict)  # grid file prefix -> what its pictures show
    # what tells runs of the family apart beyond the preset: a config -> its short name ("wgan-gp"), its name as
    # shown ("WGAN-GP"), and what it is ("loss"); families without one leave them empty
    variant: Callable[[Any], str] = lambda cfg: ""
    variant_name: Callable[[Any], str] = lambda cfg: ""
    variant_kind: str = ""
    preprocessing: Ref | None = None  # config -> sentences for the report page (None: the generic ones)
    schedule: Ref | None = None  # config -> the learning-rate schedule in words (None: a constant rate)
    # the learning curves: plot name (plots/NAME.png) -> panel title -> history columns; columns drawn as they are
    # (not smoothed), e.g. held-out scores logged once per epoch
    curves: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    unsmoothed: tuple[str, ...] = ()
    curves_note: str = ""  # said under the learning curves
    cuda_graphs: bool = False  # whether its step can be replayed as a CUDA graph
    sweeps: bool = False  # whether --loss a,b --seeds 0,1 trains its runs as one stacked sweep
    pairs: bool = False  # trains on unpaired (A, B) pairs rather than single images

    def run_title(self, cfg: Any) -> str:
        """``DCGAN (GAN loss)``, ``VAE``."""
        name = self.variant_name(cfg)
        return f"{self.title} ({name} {self.variant_kind})".replace(" )", ")") if name else self.title

    def variant_words(self, cfg: Any) -> str:
        """``gan loss``, or "" for a family without variants."""
        return f"{self.variant(cfg)} {self.variant_kind}".strip()

    def build_model(self, cfg: Any) -> Any:
        return resolve_ref(self.model)(cfg)

    def make_trainer(self, cfg: Any, extra: Any = None) -> Any:
        return resolve_ref(self.trainer)(cfg, extra)

    def load_data(self, cfg: Any) -> tuple[Any, Any]:
        return resolve_ref(self.data)(cfg)


FAMILIES: dict[str, Family] = {}  # name -> record, in registration order


def register(family: Family) -> Family:
    """Add a family (a second family of the same name, or of the same config class, is refused)."""
    for other in FAMILIES.values():
        if other is not family and (other.name == family.name or other.config is family.config):
            raise GenlabError(f"a family named {other.name!r} with config {other.config.__name__} is registered already")
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    return choose(FAMILIES, name, "model family")


def family_for(cfg: Any) -> Family:
    """The record of a config's family."""
    for family in FAMILIES.values():
        if isinstance(cfg, family.config):
            return family
    raise TypeError(f"not a genlab config: {type(cfg).__name__}")
