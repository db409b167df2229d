"""A page as data: a document of sections, paragraphs, lists, tables and figures, rendered once to HTML and once
to Markdown from the same blocks (no second builder, no Markdown read back into HTML).

Images are referenced by relative path; the HTML is self-contained (inline style, one small slider script).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from genlab.reporting import html as h


@dataclass(frozen=True)
class Paragraph:
    text: str
    css: str = ""  # an HTML class ("scores": bold)
    code: str = ""  # a path shown as code after the text, in both renderings


@dataclass(frozen=True)
class Items:
    """A bulleted list; each item (level, text) with level ok / warning / problem ("" for a plain item)."""

    items: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    numeric: Sequence[int] = ()
    marked: Sequence[int] = ()  # highlighted rows (e.g. the best epoch)
    caption: str = ""  # a line before the table


@dataclass(frozen=True)
class Figure:
    src: str
    caption: str
    kind: str = "grid"  # grid (shown at a fixed height) | curve (full width)


@dataclass(frozen=True)
class Figures:
    """Figures side by side."""

    figures: Sequence[Figure]


@dataclass(frozen=True)
class Slider:
    """One picture per epoch with a range input that picks the epoch (HTML); every epoch as links (Markdown)."""

    key: str
    frames: Sequence[tuple[int, str]]  # (epoch, relative path), in epoch order
    label: str = "every grid"


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Links:
    """Named links in one line: (text, href)."""

    links: Sequence[tuple[str, str]]
    before: str = ""


Block = Paragraph | Items | Table | Figure | Figures | Slider | Code | Links


@dataclass
class Section:
    title: str
    blocks: list[Block | Section] = field(default_factory=list)
    level: int = 2


@dataclass
class Document:
    title: str  # the browser tab's
    heading: str  # the page's h1
    blocks: list[Block | Section] = field(default_factory=list)
    refresh: int | None = None  # seconds after which a browser reloads the page (a run still training)


# ---- HTML ----


def _html_block(block: Block | Section) -> str:
    if isinstance(block, Section):
        return f"<h{block.level}>{h.escape(block.title)}</h{block.level}>" + "".join(_html_block(b) for b in block.blocks)
    if isinstance(block, Paragraph):
        css = f" class='{block.css}'" if block.css else ""
        code = f" <code>{h.escape(block.code)}</code>" if block.code else ""
        return f"<p{css}>{h.escape(block.text)}{code}</p>"
    if isinstance(block, Items):
        return "<ul>" + "".join(f"<li class='{level or 'plain'}'>{h.escape(text)}</li>" for level, text in block.items) + "</ul>"
    if isinstance(block, Table):
        caption = f"<p>{h.escape(block.caption)}</p>" if block.caption else ""
        return caption + h.table(block.headers, block.rows, numeric=block.numeric, marked=block.marked)
    if isinstance(block, Figure):
        return h.figure(block.src, block.caption, kind=block.kind)
    if isinstance(block, Figures):
        return "<div class='row'>" + "".join(h.figure(f.src, f.caption, kind=f.kind) for f in block.figures) + "</div>"
    if isinstance(block, Slider):
        links = " ".join(f"<a href='{h.escape(src)}'>epoch {epoch}</a>" for epoch, src in block.frames)
        return (
            f"<p>Any epoch ({len(block.frames)} grids):</p>" + h.slider(block.key, list(block.frames))
            + f"<details><summary>{h.escape(block.label)}</summary><p>{links}</p></details>"
        )
    if isinstance(block, Code):
        return f"<pre>{h.escape(block.text)}</pre>"
    if isinstance(block, Links):
        return "<p>" + h.escape(block.before) + ", ".join(f"<a href='{h.escape(href)}'>{h.escape(text)}</a>" for text, href in block.links) + "</p>"
    raise TypeError(f"not a document block: {type(block).__name__}")


def _has_slider(blocks: Sequence[Block | Section]) -> bool:
    return any(isinstance(b, Slider) or (isinstance(b, Section) and _has_slider(b.blocks)) for b in blocks)


def to_html(doc: Document) -> str:
    body = [f"<h1>{h.escape(doc.heading)}</h1>"] + [_html_block(b) for b in doc.blocks]
    return h.page(doc.title, body, slider=_has_slider(doc.blocks), refresh=doc.refresh)


# ---- Markdown ----


def _md_block(block: Block | Section) -> list[str]:
    if isinstance(block, Section):
        return ["#" * block.level + " " + block.title, ""] + [line for b in block.blocks for line in _md_block(b)]
    if isinstance(block, Paragraph):
        return [block.text + (f" `{block.code}`" if block.code else ""), ""]
    if isinstance(block, Items):
        return [f"- {'**' + level + ':** ' if level not in ('', 'ok') else ''}{text}" for level, text in block.items] + [""]
    if isinstance(block, Table):
        return ([block.caption, ""] if block.caption else []) + h.markdown_table(block.headers, block.rows) + [""]
    if isinstance(block, Figure):
        return [f"![{block.caption}]({block.src})", ""]
    if isinstance(block, Figures):
        return [f"![{f.caption}]({f.src})" for f in block.figures] + [""]
    if isinstance(block, Slider):
        return ["Every epoch: " + ", ".join(f"[{epoch}]({src})" for epoch, src in block.frames), ""]
    if isinstance(block, Code):
        return ["```", block.text, "```", ""]
    if isinstance(block, Links):
        return [block.before + ", ".join(f"[{text}]({href})" for text, href in block.links), ""]
    raise TypeError(f"not a document block: {type(block).__name__}")


def to_markdown(doc: Document) -> str:
    return "\n".join([f"# {doc.heading}", ""] + [line for b in doc.blocks for line in _md_block(b)])

