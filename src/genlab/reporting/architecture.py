"""A network as a table: every leaf layer with its input and output shapes and parameters."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genlab.files import write_json, write_text


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


@dataclass(frozen=True)
class ArchitectureTable:
    """One network: its title and its leaf layers in call order."""

    title: str
    rows: list[LayerRow]

    HEADERS = ("layer", "type", "input", "output", "parameters")

    def cells(self) -> list[list[str]]:
        """The table's rows as text, with a total line."""
        shape = lambda s: "x".join(map(str, s))  # noqa: E731
        body = [[r.name, r.layer, shape(r.input_shape), shape(r.output_shape), f"{r.params:,}"] for r in self.rows]
        return body + [["total", "", "", "", f"{sum(r.params for r in self.rows):,}"]]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rows": [dataclasses.asdict(r) for r in self.rows]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchitectureTable:
        rows = [LayerRow(r["name"], r["layer"], tuple(r["input_shape"]), tuple(r["output_shape"]), int(r["params"])) for r in data["rows"]]
        return cls(str(data["title"]), rows)


def format_table(table: ArchitectureTable) -> str:
    """A markdown table with a total line (architecture.md, genlab describe)."""
    cells = table.cells()
    lines = [f"### {table.title}", "", "| " + " | ".join(ArchitectureTable.HEADERS) + " |", "|---|---|---|---|---:|"]
    lines += [f"| {name} | `{layer}` | {a} | {b} | {params} |" for name, layer, a, b, params in cells[:-1]]
    lines += [f"| **total** | | | | **{cells[-1][-1]}** |", ""]
    return "\n".join(lines)


def describe(tables: list[ArchitectureTable]) -> str:
    return "\n".join(format_table(table) for table in tables)


def save_architecture(root: Path, tables: list[ArchitectureTable]) -> str:
    """``architecture.md`` for people, ``architecture.json`` for the report page; returns the markdown."""
    text = describe(tables)
    write_text(root / "architecture.md", text)
    write_json(root / "architecture.json", [table.to_dict() for table in tables])
    return text


def load_architecture(root: Path) -> list[ArchitectureTable] | None:
    """The tables saved with a run (None for a run from before they were saved as data, or a damaged file)."""
    path = root / "architecture.json"
    try:
        return [ArchitectureTable.from_dict(t) for t in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _short(module: nn.Module) -> str:
    """``Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), ...)``, without BatchNorm's eps/momentum noise."""
    arguments = module.extra_repr().split(", eps=")[0]
    return f"{type(module).__name__}({arguments})"
