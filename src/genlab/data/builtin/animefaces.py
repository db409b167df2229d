"""``animefaces``: faces in a Japanese-animation style, composed from drawn parts (a miniature anime-face set).

It stands in for the animation side of the cartoon<->animation CycleGAN of the VAE assignment (anime-face crops such
as the Danbooru/Getchu face sets): the same kind of character portrait as ``toonfaces`` but drawn the anime way, from
independent parameters. Every face draws, from a generator seeded by its index:

- a pastel background (flat or a two-tone gradient);
- a face with a rounded forehead and a pointed chin, pale skin with flat shading under the bangs, optional blush;
- large eyes with a coloured iris, a dark pupil, two white highlights and a heavy upper lash line;
- thin eyebrows, a tiny nose and a small mouth (a short arc or a small open triangle);
- long hair behind the head and jagged bangs over the forehead, in a colour from one of the five groups of
  ``toonfaces.HAIR_GROUPS``, pastel here (dark navy, light brown, pale blonde, pink, lavender/blue/mint/silver).

Drawn with Pillow at twice the asked size and shrunk (anti-aliased); any size up to 500 px. Labels: the hair colour
group (0-4), as for ``toonfaces``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from genlab.data.builtin.drawing import Colour, pick, shade
from genlab.data.builtin.toonfaces import HAIR_GROUPS

_HAIR = {
    "dark": [(45, 40, 75), (35, 35, 50), (60, 45, 70)],
    "brown": [(160, 110, 75), (185, 130, 90), (140, 95, 70)],
    "blonde": [(250, 228, 150), (245, 215, 120), (255, 240, 180)],
    "red": [(245, 150, 180), (235, 110, 130), (250, 175, 200)],
    "unnatural": [(185, 160, 235), (150, 200, 245), (160, 225, 200), (215, 215, 232)],
}
_IRIS = [(60, 120, 200), (170, 60, 90), (60, 150, 100), (140, 80, 180), (200, 130, 40), (90, 70, 60)]
_SKIN = [(255, 236, 222), (252, 226, 205), (248, 215, 190)]
_BACKGROUNDS = [(250, 230, 240), (225, 240, 250), (235, 250, 230), (250, 245, 215), (235, 225, 250), (255, 255, 255)]
_KEY = 31


def face_rng(index: int) -> np.random.Generator:
    return np.random.default_rng([_KEY, index])


def hair_group(index: int) -> int:
    """The hair colour group (0-4) of face ``index``, without drawing it."""
    return int(face_rng(index).integers(len(HAIR_GROUPS)))


def _eye(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, h: float, iris: Colour, s: int) -> None:
    draw.ellipse([x - w, y - h, x + w, y + h], fill=(255, 255, 255))
    draw.ellipse([x - w * 0.75, y - h * 0.85, x + w * 0.75, y + h], fill=iris)
    draw.ellipse([x - w * 0.35, y - h * 0.3, x + w * 0.35, y + h * 0.55], fill=shade(iris, 0.35))
    r1, r2 = w * 0.28, w * 0.14
    draw.ellipse([x - w * 0.45 - r1, y - h * 0.45 - r1, x - w * 0.45 + r1, y - h * 0.45 + r1], fill=(255, 255, 255))
    draw.ellipse([x + w * 0.3 - r2, y + h * 0.35 - r2, x + w * 0.3 + r2, y + h * 0.35 + r2], fill=(255, 255, 255))
    lash = max(2, s // 60)
    draw.line([(x - w * 1.15, y - h * 0.7), (x, y - h * 1.1), (x + w * 1.15, y - h * 0.75)], fill=(30, 20, 30), width=lash, joint="curve")


def draw_face(index: int, size: int) -> Image.Image:
    """Anime face ``index``, size x size RGB."""
    rng = face_rng(index)
    hair = pick(rng, _HAIR[HAIR_GROUPS[int(rng.integers(len(HAIR_GROUPS)))]])
    skin, background, iris = pick(rng, _SKIN), pick(rng, _BACKGROUNDS), pick(rng, _IRIS)
    s = 2 * size
    image = Image.new("RGB", (s, s), background)
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.5:  # two-tone background
        lower = pick(rng, _BACKGROUNDS)
        for y in range(s // 2, s):
            t = (y - s // 2) / (s / 2)
            draw.line([(0, y), (s, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(background, lower)))

    cx, cy = s * rng.uniform(0.47, 0.53), s * rng.uniform(0.47, 0.52)
    half_w, half_h = s * rng.uniform(0.2, 0.24), s * rng.uniform(0.27, 0.31)
    top, chin = cy - half_h, cy + half_h
    length = rng.uniform(0.15, 0.45)  # hair behind the head, down past the chin
    draw.rounded_rectangle([cx - half_w * 1.35, top - 0.06 * s, cx + half_w * 1.35, chin + length * s], radius=half_w, fill=shade(hair, 0.85))
    draw.polygon([(cx - half_w * 0.3, cy + half_h * 0.6), (cx + half_w * 0.3, cy + half_h * 0.6), (cx + half_w * 0.3, chin + 0.1 * s),
                  (cx - half_w * 0.3, chin + 0.1 * s)], fill=shade(skin, 0.92))  # neck
    draw.ellipse([cx - s * 0.3, chin + 0.05 * s, cx + s * 0.3, chin + 0.5 * s], fill=pick(rng, [(40, 50, 90), (240, 240, 245), (170, 40, 60)]))
    # face: a round forehead and cheeks narrowing to a pointed chin
    draw.ellipse([cx - half_w, top, cx + half_w, cy + half_h * 0.35], fill=skin)
    draw.polygon([(cx - half_w, cy - half_h * 0.1), (cx + half_w, cy - half_h * 0.1), (cx + half_w * 0.55, cy + half_h * 0.75),
                  (cx, chin), (cx - half_w * 0.55, cy + half_h * 0.75)], fill=skin)

    eye_y = cy + half_h * rng.uniform(0.0, 0.1)
    spacing, eye_w, eye_h = half_w * rng.uniform(0.45, 0.55), half_w * rng.uniform(0.24, 0.3), half_h * rng.uniform(0.2, 0.26)
    for side in (-1, 1):
        _eye(draw, cx + side * spacing, eye_y, eye_w, eye_h, iris, s)
        brow_y = eye_y - eye_h * 1.9
        draw.arc([cx + side * spacing - eye_w, brow_y - eye_h * 0.4, cx + side * spacing + eye_w, brow_y + eye_h * 0.6], 200, 340,
                 fill=shade(hair, 0.6), width=max(1, s // 150))
    if rng.random() < 0.6:  # blush
        for side in (-1, 1):
            bx, by = cx + side * spacing * 1.05, eye_y + eye_h * 1.6
            draw.ellipse([bx - eye_w * 0.6, by - eye_h * 0.2, bx + eye_w * 0.6, by + eye_h * 0.2], fill=(250, 180, 185))
    nose_y = eye_y + eye_h * 1.5
    draw.line([(cx, nose_y), (cx + s * 0.006, nose_y + s * 0.01)], fill=shade(skin, 0.75), width=max(1, s // 200))
    mouth_y, mouth_w = cy + half_h * 0.62, half_w * rng.uniform(0.1, 0.18)
    if rng.random() < 0.5:
        draw.arc([cx - mouth_w, mouth_y - mouth_w * 0.8, cx + mouth_w, mouth_y + mouth_w * 0.5], 20, 160, fill=(170, 70, 80), width=max(1, s // 180))
    else:
        draw.polygon([(cx - mouth_w, mouth_y), (cx + mouth_w, mouth_y), (cx, mouth_y + mouth_w * 1.1)], fill=(190, 70, 90))

    # bangs: jagged locks over the forehead, with a flat shadow on the skin below them
    fringe = top + half_h * rng.uniform(0.55, 0.75)
    draw.chord([cx - half_w * 1.12, top - 0.07 * s, cx + half_w * 1.12, top + half_h * 0.9], 180, 360, fill=hair)
    locks = int(rng.integers(4, 8))
    for k in range(locks):
        x0 = cx - half_w * 1.1 + k * 2.2 * half_w / locks
        x1 = x0 + 2.2 * half_w / locks
        tip = fringe + half_h * rng.uniform(-0.1, 0.15)
        draw.polygon([(x0, top + half_h * 0.3), (x1, top + half_h * 0.3), ((x0 + x1) / 2 + rng.uniform(-0.3, 0.3) * (x1 - x0), tip)], fill=hair)
    for side in (-1, 1):  # side locks framing the face
        x = cx + side * half_w * 1.02
        draw.polygon([(x - half_w * 0.16, top + half_h * 0.4), (x + half_w * 0.16, top + half_h * 0.4), (x + side * half_w * 0.05, cy + half_h * 0.7)], fill=hair)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def render(indices: range, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x size x size x 3, hair colour groups N) of the given face indices."""
    images = np.stack([np.asarray(draw_face(i, size)) for i in indices])
    return images, np.array([hair_group(i) for i in indices], dtype=np.int64)
