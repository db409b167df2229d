"""Whole training steps replayed as CUDA graphs (config field ``cuda_graphs``).

A step of fixed shapes (a DCGAN's critic and generator updates, optimiser steps and weight
clipping included) is captured once per kind of step (with and without a generator update)
and then replayed: one launch instead of a few hundred, no Python in between. Inputs are
copied into static buffers first; the random numbers a step needs (z, the penalty's
interpolation weights) are drawn outside the graph, from the run's own generator, in the order
the eager step draws them, so a graphed run draws exactly what an eager one does.

Capturing needs warm-up steps, which train; the models' weights and buffers and the
optimisers' state are saved before and written back (in place, so the graph's addresses stay)
before the capture, so the warm-up leaves no trace. A resumed run captures anew after loading.
The optimisers must be created with ``capturable=True`` (``optimizer_options`` does so when
the field is on).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor, nn

WARMUP_STEPS = 3


class GraphedSteps:
    def __init__(self, step: Callable[..., dict[str, Tensor]], modules: list[nn.Module], optimizers: list[torch.optim.Optimizer]) -> None:
        self.step, self.modules, self.optimizers = step, modules, optimizers
        self.graphs: dict[Hashable, tuple[list[Tensor | None], dict[str, Tensor], Any]] = {}

    def __call__(self, key: Hashable, *inputs: Tensor | None) -> dict[str, Tensor]:
        """The step for ``key`` (e.g. whether the generator updates) on ``inputs``; captured on first use."""
        if key not in self.graphs:
            self._capture(key, inputs)
        static, outputs, graph = self.graphs[key]
        for buffer, value in zip(static, inputs):
            if buffer is not None:
                buffer.copy_(value)
        graph.replay()
        return {name: value.clone() for name, value in outputs.items()}  # the next replay overwrites the static ones

    def _capture(self, key: Hashable, inputs: tuple[Tensor | None, ...]) -> None:
        static = [None if x is None else x.detach().clone() for x in inputs]
        saved = self._save()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self.step(key, *static)
        torch.cuda.current_stream().wait_stream(side)
        self._restore(saved)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # a pool of its own: the kinds of step replay in no fixed order
            outputs = self.step(key, *static)
        self.graphs[key] = (static, outputs, graph)

    def _save(self) -> dict[str, Any]:
        tensors = [t for m in self.modules for t in [*m.parameters(), *m.buffers()]]
        states = [{p: {k: v.clone() for k, v in opt.state[p].items() if torch.is_tensor(v)} for p in opt.state} for opt in self.optimizers]
        return {"tensors": [(t, t.detach().clone()) for t in tensors], "states": states}

    @torch.no_grad()
    def _restore(self, saved: dict[str, Any]) -> None:
        for tensor, value in saved["tensors"]:
            tensor.copy_(value)
        for opt, before in zip(self.optimizers, saved["states"]):
            for p, state in opt.state.items():
                for name, value in state.items():
                    if not torch.is_tensor(value):
                        continue
                    if p in before and name in before[p]:
                        value.copy_(before[p][name])
                    else:  # a state the warm-up created starts at zero, as a fresh optimiser's does
                        value.zero_()
