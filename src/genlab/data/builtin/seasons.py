"""``seasons``: unpaired summer and winter landscapes, drawn from code (a miniature of summer2winter_yosemite).

It stands in for the CycleGAN paper's summer<->winter Yosemite photographs (Flickr, 256x256): the same scene kinds
in two renderings, with no image in one season that has its partner in the other. Every scene is one of four kinds,
each with its own main feature:

- ``mountains``: two or three peaks behind the ground;
- ``hills``: layers of rolling hills;
- ``lake``: a wide lake in the middle distance with a shore;
- ``village``: two to four houses with pitched roofs.

Around it: a sky with a sun or clouds, a ground plane, a path, and conifers or leafy trees. The **summer** rendering
has a blue sky, green grass and leaves, grey rock, blue water, red and brown roofs; the **winter** rendering has a
grey sky, snow on the ground, the peaks and the roofs, frozen water, bare leafy trees, snow on the conifers and
falling snow. A scene's parameters come from a seeded generator keyed by (season, index), so summer scene i and winter
scene i are independent draws: the two domains are unpaired, as CycleGAN assumes.

Drawn with Pillow at twice the asked size and shrunk (anti-aliased); any size from 32 to 256 px works. Labels:
the scene kind (0-3).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from genlab.data.builtin.drawing import jitter, mix

SEASONS = ("summer", "winter")
KINDS = ("mountains", "hills", "lake", "village")
_SEASON_KEY = {"summer": 11, "winter": 12}


class _Palette:
    """The colours of one season."""

    def __init__(self, season: str, rng: np.random.Generator) -> None:
        summer = season == "summer"
        self.summer = summer
        self.sky_top = jitter(rng, (60, 125, 215) if summer else (125, 135, 150), 15)
        self.sky_low = jitter(rng, (165, 205, 240) if summer else (200, 204, 210), 10)
        self.ground = jitter(rng, (85, 160, 60) if summer else (238, 242, 248), 12 if summer else 5)
        self.ground_far = jitter(rng, (120, 175, 85) if summer else (215, 222, 232), 10 if summer else 5)
        self.rock = jitter(rng, (115, 115, 125) if summer else (232, 236, 244), 12 if summer else 4)
        self.rock_shade = jitter(rng, (85, 85, 100) if summer else (170, 182, 205), 10)
        self.water = jitter(rng, (50, 110, 190) if summer else (190, 212, 228), 12 if summer else 6)
        self.path = jitter(rng, (175, 145, 95) if summer else (205, 208, 214), 10 if summer else 4)
        self.conifer = jitter(rng, (30, 90, 45) if summer else (35, 70, 50), 10)
        self.leaves = jitter(rng, (60, 140, 50) if summer else (0, 0, 0), 15)
        self.trunk = jitter(rng, (95, 65, 40), 10)
        self.snow = (250, 251, 255)


def _sky(draw: ImageDraw.ImageDraw, s: int, horizon: float, palette: _Palette) -> None:
    bottom = int(horizon * s) + 1
    for y in range(bottom):
        draw.line([(0, y), (s, y)], fill=mix(palette.sky_top, palette.sky_low, y / max(1, bottom)))


def _sun_or_clouds(draw: ImageDraw.ImageDraw, s: int, rng: np.random.Generator, palette: _Palette) -> None:
    if rng.random() < 0.5:
        x, y, r = rng.uniform(0.1, 0.9) * s, rng.uniform(0.08, 0.22) * s, rng.uniform(0.05, 0.08) * s
        colour = (255, 225, 90) if palette.summer else (235, 235, 228)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0.05, 0.95) * s, rng.uniform(0.06, 0.25) * s
        w, h = rng.uniform(0.12, 0.22) * s, rng.uniform(0.04, 0.07) * s
        colour = (250, 250, 252) if palette.summer else jitter(rng, (150, 155, 165), 10)
        for dx, dy, k in ((-0.35, 0.1, 0.6), (0.0, -0.15, 0.75), (0.35, 0.1, 0.6)):
            cx, cy = x + dx * w, y + dy * h
            draw.ellipse([cx - k * w / 1.4, cy - k * h, cx + k * w / 1.4, cy + k * h], fill=colour)


def _mountains(draw: ImageDraw.ImageDraw, s: int, horizon: float, rng: np.random.Generator, palette: _Palette) -> None:
    for _ in range(int(rng.integers(2, 4))):
        peak_x, peak_y = rng.uniform(0.1, 0.9) * s, rng.uniform(0.18, 0.35) * s
        half = rng.uniform(0.25, 0.45) * s
        base = horizon * s + 2
        draw.polygon([(peak_x - half, base), (peak_x, peak_y), (peak_x + half, base)], fill=palette.rock)
        draw.polygon([(peak_x, peak_y), (peak_x + half, base), (peak_x + half * 0.35, base)], fill=palette.rock_shade)
        t = rng.uniform(0.2, 0.35) if palette.summer else rng.uniform(0.55, 0.8)  # snow line: high in summer
        draw.polygon(
            [(peak_x - half * t, peak_y + (base - peak_y) * t), (peak_x, peak_y), (peak_x + half * t, peak_y + (base - peak_y) * t)],
            fill=palette.snow,
        )


def _hills(draw: ImageDraw.ImageDraw, s: int, horizon: float, rng: np.random.Generator, palette: _Palette) -> None:
    layers = int(rng.integers(2, 4))
    for layer in range(layers):
        level = horizon - 0.12 + 0.07 * layer
        amplitude, phase, waves = rng.uniform(0.03, 0.07), rng.uniform(0, 2 * math.pi), rng.uniform(1.0, 2.5)
        points = [(x, s * (level + amplitude * math.sin(phase + waves * 2 * math.pi * x / s))) for x in range(0, s + 8, 8)]
        colour = mix(palette.ground_far, palette.ground, layer / max(1, layers - 1))
        if not palette.summer:
            colour = mix(colour, palette.rock_shade, 0.15 * (layers - 1 - layer))
        draw.polygon([(0, s), *points, (s, s)], fill=colour)


def _lake(draw: ImageDraw.ImageDraw, s: int, horizon: float, rng: np.random.Generator, palette: _Palette) -> None:
    top, depth = (horizon + rng.uniform(0.02, 0.06)) * s, rng.uniform(0.14, 0.22) * s
    left, right = rng.uniform(-0.2, 0.15) * s, rng.uniform(0.85, 1.2) * s
    draw.ellipse([left, top, right, top + depth], fill=palette.water)
    shine = (200, 225, 250) if palette.summer else (240, 245, 250)
    for _ in range(3):
        y = top + rng.uniform(0.3, 0.7) * depth
        x = rng.uniform(left + 0.2 * (right - left), left + 0.6 * (right - left))
        draw.line([(x, y), (x + rng.uniform(0.05, 0.15) * s, y)], fill=shine, width=max(1, s // 128))


def _village(draw: ImageDraw.ImageDraw, s: int, horizon: float, rng: np.random.Generator, palette: _Palette) -> None:
    for _ in range(int(rng.integers(2, 5))):
        w, h = rng.uniform(0.12, 0.2) * s, rng.uniform(0.08, 0.14) * s
        x, ground = rng.uniform(0.0, 0.85) * s, (horizon + rng.uniform(0.1, 0.3)) * s
        wall = jitter(rng, (225, 205, 160), 25)
        draw.rectangle([x, ground - h, x + w, ground], fill=wall)
        roof = jitter(rng, (170, 60, 45) if rng.random() < 0.6 else (110, 70, 45), 20) if palette.summer else palette.snow
        draw.polygon([(x - 0.1 * w, ground - h), (x + w / 2, ground - h - 0.6 * h), (x + 1.1 * w, ground - h)], fill=roof)
        window = (70, 90, 120) if palette.summer else (255, 215, 110)  # lit in the winter dusk
        ww = 0.18 * w
        draw.rectangle([x + 0.2 * w, ground - 0.7 * h, x + 0.2 * w + ww, ground - 0.7 * h + ww], fill=window)
        draw.rectangle([x + 0.6 * w, ground - 0.55 * h, x + 0.6 * w + ww, ground], fill=mix(wall, (60, 40, 30), 0.6))


def _path(draw: ImageDraw.ImageDraw, s: int, horizon: float, rng: np.random.Generator, palette: _Palette) -> None:
    x0, bend = rng.uniform(0.3, 0.7) * s, rng.uniform(-0.25, 0.25) * s
    left, right = [], []
    for i in range(11):
        t = i / 10
        y = (horizon + 0.05 + t * (1 - horizon)) * s
        cx = x0 + bend * math.sin(t * math.pi)
        half = (0.01 + 0.09 * t) * s
        left.append((cx - half, y))
        right.append((cx + half, y))
    draw.polygon(left + right[::-1], fill=palette.path)


def _tree(draw: ImageDraw.ImageDraw, x: float, base: float, height: float, conifer: bool, rng: np.random.Generator, palette: _Palette) -> None:
    width = height * 0.45
    trunk = max(1.0, height * 0.07)
    draw.rectangle([x - trunk, base - height * 0.25, x + trunk, base], fill=palette.trunk)
    if conifer:
        for k in range(3):
            top = base - height * (1.0 - 0.22 * k)
            bottom = base - height * (0.45 - 0.15 * k)
            half = width * (0.3 + 0.2 * k)
            draw.polygon([(x - half, bottom), (x, top), (x + half, bottom)], fill=palette.conifer)
            if not palette.summer:
                draw.polygon([(x - half * 0.45, top + (bottom - top) * 0.45), (x, top), (x + half * 0.45, top + (bottom - top) * 0.45)], fill=palette.snow)
    elif palette.summer:
        r = width * 0.6
        draw.ellipse([x - r, base - height - r * 0.2, x + r, base - height + 1.6 * r], fill=palette.leaves)
    else:  # bare branches
        line = max(1, int(trunk))
        draw.line([(x, base), (x, base - height)], fill=palette.trunk, width=line)
        for k in range(4):
            y = base - height * (0.45 + 0.13 * k)
            reach = width * (0.55 - 0.1 * k) * (1 if k % 2 else -1)
            draw.line([(x, y), (x + reach, y - height * 0.15)], fill=palette.trunk, width=max(1, line // 2 + 1))
            draw.line([(x, y + height * 0.05), (x - reach * 0.8, y - height * 0.1)], fill=palette.trunk, width=max(1, line // 2))


def _snowfall(draw: ImageDraw.ImageDraw, s: int, rng: np.random.Generator) -> None:
    for _ in range(int(rng.integers(20, 60))):
        x, y, r = rng.uniform(0, s), rng.uniform(0, s), rng.uniform(0.004, 0.009) * s
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255))


_FEATURES = {"mountains": _mountains, "hills": _hills, "lake": _lake, "village": _village}


def scene_rng(season: str, index: int) -> np.random.Generator:
    return np.random.default_rng([_SEASON_KEY[season], index])


def scene_kind(season: str, index: int) -> int:
    """The kind (0-3) of scene ``index`` of a season, without drawing it."""
    return int(scene_rng(season, index).integers(len(KINDS)))


def draw_scene(season: str, index: int, size: int) -> Image.Image:
    """Scene ``index`` of ``season`` ('summer' or 'winter'), size x size RGB."""
    rng = scene_rng(season, index)
    kind = KINDS[int(rng.integers(len(KINDS)))]
    palette = _Palette(season, rng)
    s = 2 * size
    image = Image.new("RGB", (s, s), palette.ground)
    draw = ImageDraw.Draw(image)
    horizon = rng.uniform(0.45, 0.6)
    _sky(draw, s, horizon, palette)
    _sun_or_clouds(draw, s, rng, palette)
    if kind == "mountains":
        _mountains(draw, s, horizon, rng, palette)
    draw.rectangle([0, horizon * s, s, s], fill=palette.ground_far)
    draw.polygon([(0, (horizon + 0.08) * s), (s, (horizon + 0.04) * s), (s, s), (0, s)], fill=palette.ground)
    if kind != "mountains":
        _FEATURES[kind](draw, s, horizon, rng, palette)
    if rng.random() < 0.5 and kind != "lake":
        _path(draw, s, horizon, rng, palette)
    conifers = rng.random() < 0.5
    trees = sorted((rng.uniform(0, 1), rng.uniform(horizon + 0.05, 0.98)) for _ in range(int(rng.integers(1, 6))))
    for x, base in sorted(trees, key=lambda t: t[1]):  # far trees first
        height = (0.12 + 0.35 * (base - horizon)) * s
        _tree(draw, x * s, base * s, height, conifers, rng, palette)
    if not palette.summer and rng.random() < 0.6:
        _snowfall(draw, s, rng)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def render(season: str, indices: range, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x size x size x 3, scene kinds N) of the given scene indices of a season."""
    images = np.stack([np.asarray(draw_scene(season, i, size)) for i in indices])
    return images, np.array([scene_kind(season, i) for i in indices], dtype=np.int64)
