"""A network as a table: every leaf layer with its input and output shapes and parameters."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class LayerRow:
    name: str
    layer: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int


def architecture_rows(model: nn.Module, run: callable) -> list[LayerRow]:
    """Rows in call order for the leaf modules that ``run(model)`` calls (shapes without the batch)."""
    rows: list[LayerRow] = []
    names = {module: name for name, module in model.named_modules()}

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        rows.append(
            LayerRow(
                names[module],
                _short(module),
                tuple(inputs[0].shape[1:]),
                tuple(output.shape[1:]),
                sum(p.numel() for p in module.parameters(recurse=False)),
            )
        )

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            run(model)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return rows


def format_table(title: str, rows: list[LayerRow]) -> str:
    """A markdown table with a total line."""
    shape = lambda s: "x".join(map(str, s))  # noqa: E731
    lines = [f"### {title}", "", "| layer | type | input | output | parameters |", "|---|---|---|---|---:|"]
    lines += [f"| {r.name} | `{r.layer}` | {shape(r.input_shape)} | {shape(r.output_shape)} | {r.params:,} |" for r in rows]
    lines += [f"| **total** | | | | **{sum(r.params for r in rows):,}** |", ""]
    return "\n".join(lines)


def _short(module: nn.Module) -> str:
    """``Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), ...)``, without BatchNorm's eps/momentum noise."""
    arguments = module.extra_repr().split(", eps=")[0]
    return f"{type(module).__name__}({arguments})"
