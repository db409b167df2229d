"""Small builders of self-contained HTML: tables, figures, an epoch slider, markdown tables, one page.

Pages reference images by relative path and carry their own style and script, so they open from
``file://`` with no network, and print cleanly (the slider's script only swaps an image).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

STYLE = (
    "body{font-family:sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222;line-height:1.4}"
    "h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#e8f6e8;font-weight:bold}"
    ".row{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}figure{margin:0}"
    "img.grid{height:260px;width:auto;max-width:100%;object-fit:contain;image-rendering:pixelated}img.curve{max-width:100%}"
    "figcaption{font-size:.9em;color:#555;max-width:340px}"
    ".ok{color:#1b6e1b}.warning{color:#a35a00;font-weight:bold}.problem{color:#b00020;font-weight:bold}"
    ".scores{font-weight:bold}pre{overflow-x:auto;background:#f8f8f8;padding:.5em}code{background:#f6f6f6;padding:0 .2em}details{margin:.4em 0}"
    "@media print{input[type=range]{display:none}h2{page-break-after:avoid}figure{page-break-inside:avoid}}"
)

# One script per page: every slider shows the grid of the epoch it points at.
SLIDER_SCRIPT = (
    "<script>document.querySelectorAll('input.epochs').forEach(function(s){"
    "var grids=JSON.parse(s.dataset.grids),img=document.getElementById(s.dataset.img),"
    "label=document.getElementById(s.dataset.label);"
    "s.addEventListener('input',function(){var g=grids[s.value];img.src=g[1];label.textContent='epoch '+g[0];});});</script>"
)

escape = html.escape


def page(title: str, body: Iterable[str], *, slider: bool = False, refresh: int | None = None) -> str:
    """A whole page; ``refresh``: seconds after which a browser reloads it (a run still training)."""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        + (f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else "")
        + f"<style>{STYLE}</style></head><body>"
        + "".join(body)
        + (SLIDER_SCRIPT if slider else "")
        + "</body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[int] = (), marked: Iterable[int] = ()) -> str:
    """A table; columns in ``numeric`` right-aligned, rows in ``marked`` highlighted."""
    marked = set(marked)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{' class=best' if i in marked else ''}>"
        + "".join(f"<td{' class=num' if j in numeric else ''}>{escape(str(cell))}</td>" for j, cell in enumerate(row))
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(src: str, caption: str, *, kind: str = "grid") -> str:
    return f"<figure><img class='{kind}' src='{escape(src)}' alt='{escape(caption)}'><figcaption>{escape(caption)}</figcaption></figure>"


def slider(key: str, grids: Sequence[tuple[int, str]]) -> str:
    """A grid with a range input over ``grids`` ((epoch, relative path), in epoch order), showing the last."""
    last = len(grids) - 1
    epoch, src = grids[last]
    data = escape(json.dumps([[e, s] for e, s in grids]))
    return (
        f"<div><input type='range' class='epochs' min='0' max='{last}' value='{last}' data-grids=\"{data}\" "
        f"data-img='img-{key}' data-label='label-{key}' aria-label='epoch'> <span id='label-{key}'>epoch {epoch}</span><br>"
        f"<img class='grid' id='img-{key}' src='{escape(src)}' alt='{escape(key)} at the chosen epoch'></div>"
    )


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Lines of a markdown pipe table."""
    cell = lambda value: str(value).replace("|", "\\|")  # noqa: E731
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]


def relative(path: Path, start: Path) -> str:
    """``path`` relative to the folder ``start``, with forward slashes (for src/href), always starting with ``./`` or
    ``../`` so that a folder named like a URL scheme (``javascript:...``) stays a relative path."""
    relative_path = Path(os.path.relpath(path, start)).as_posix()
    return relative_path if relative_path.startswith("../") else f"./{relative_path}"
