"""``toonfaces``: cartoon character faces composed from drawn parts (a miniature of Google's Cartoon Set).

It stands in for the cartoon-face dataset of the VAE and cartoon<->animation assignment: 10,000 flat-coloured
American-cartoon faces at up to 500x500, each assembled from parts (Google's Cartoon Set is made the same way). Every
face draws, from a generator seeded by its index:

- a background colour and a shirt colour;
- a face shape (oval, round, square-jawed) and a skin tone from light to dark, with ears and a neck;
- a hair style (short, bob, long, spiky, bun, buzz cut) and a hair colour from one of five groups
  (``HAIR_GROUPS``: dark, brown, blonde, red, and unnatural blue/purple/grey);
- eyes (dots, ovals with pupils, or closed arcs) and their spacing; eyebrows (thickness, tilt);
- glasses (none, round or square frames) and a mouth (smile, flat, open) and a nose.

Drawn with Pillow at twice the asked size and shrunk (anti-aliased); any size up to 500 px. Labels: the hair colour
group (0-4). ``animefaces`` draws the same kind of labels in a Japanese-animation style.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from genlab.data.builtin.drawing import pick, shade

HAIR_GROUPS = ("dark", "brown", "blonde", "red", "unnatural")
_HAIR = {
    "dark": [(25, 22, 22), (45, 35, 30), (20, 20, 35)],
    "brown": [(95, 60, 35), (120, 80, 45), (80, 50, 30)],
    "blonde": [(225, 190, 105), (240, 210, 140), (205, 165, 80)],
    "red": [(175, 65, 35), (200, 90, 45), (150, 45, 30)],
    "unnatural": [(70, 95, 175), (130, 80, 170), (165, 165, 170)],
}
_SKIN = [(255, 224, 196), (241, 194, 160), (224, 172, 125), (198, 134, 90), (141, 85, 50), (95, 60, 40)]
_BACKGROUNDS = [(240, 220, 120), (150, 200, 230), (230, 150, 140), (170, 220, 170), (200, 180, 230), (245, 245, 240), (250, 190, 120)]
_STYLES = ("short", "bob", "long", "spiky", "bun", "buzz")
_KEY = 21


def face_rng(index: int) -> np.random.Generator:
    return np.random.default_rng([_KEY, index])


def hair_group(index: int) -> int:
    """The hair colour group (0-4) of face ``index``, without drawing it."""
    return int(face_rng(index).integers(len(HAIR_GROUPS)))


def draw_face(index: int, size: int) -> Image.Image:
    """Cartoon face ``index``, size x size RGB."""
    rng = face_rng(index)
    hair = pick(rng, _HAIR[HAIR_GROUPS[int(rng.integers(len(HAIR_GROUPS)))]])
    skin, background, shirt = pick(rng, _SKIN), pick(rng, _BACKGROUNDS), pick(rng, _BACKGROUNDS[:-1])
    style = _STYLES[int(rng.integers(len(_STYLES)))]
    s = 2 * size
    image = Image.new("RGB", (s, s), background)
    draw = ImageDraw.Draw(image)

    cx, cy = s * rng.uniform(0.47, 0.53), s * rng.uniform(0.5, 0.55)
    half_w, half_h = s * rng.uniform(0.2, 0.27), s * rng.uniform(0.26, 0.31)
    top, chin = cy - half_h, cy + half_h
    if style == "long":  # hair behind the head, down to the shoulders
        draw.rounded_rectangle([cx - half_w * 1.25, top - 0.05 * s, cx + half_w * 1.25, chin + 0.1 * s], radius=half_w * 0.8, fill=hair)
    draw.ellipse([cx - s * 0.35, chin - 0.02 * s, cx + s * 0.35, chin + 0.4 * s], fill=shirt)  # shoulders
    draw.rectangle([cx - half_w * 0.35, cy, cx + half_w * 0.35, chin + 0.06 * s], fill=shade(skin, 0.9))  # neck
    ear = half_w * 0.22
    for side in (-1, 1):
        ex = cx + side * half_w
        draw.ellipse([ex - ear, cy - ear * 1.3, ex + ear, cy + ear * 1.3], fill=shade(skin, 0.95))
    shape = int(rng.integers(3))
    if shape == 0:  # oval
        draw.ellipse([cx - half_w, top, cx + half_w, chin], fill=skin)
    elif shape == 1:  # round
        draw.ellipse([cx - half_w * 1.05, top + 0.05 * half_h, cx + half_w * 1.05, chin], fill=skin)
    else:  # square jaw
        draw.rounded_rectangle([cx - half_w, top, cx + half_w, chin], radius=half_w * 0.45, fill=skin)

    if style == "buzz":  # a thin cap, close to the scalp
        draw.chord([cx - half_w * 1.02, top - 0.01 * s, cx + half_w * 1.02, top + half_h * 0.9], 180, 360, fill=hair)
    else:  # the hair cap over the forehead
        cap = top + half_h * rng.uniform(0.45, 0.7)
        draw.chord([cx - half_w * 1.08, top - 0.06 * s, cx + half_w * 1.08, cap + half_h * 0.6], 180, 360, fill=hair)
        if style == "bob":
            for side in (-1, 1):  # straight sides down to the jaw
                inner, outer = sorted((cx + side * half_w * 0.78, cx + side * half_w * 1.08))
                draw.rectangle([inner, top + half_h * 0.3, outer, cy + half_h * 0.5], fill=hair)
        elif style == "spiky":
            for k in range(5):
                x = cx - half_w + k * half_w / 2
                draw.polygon([(x - half_w * 0.25, top + 0.04 * s), (x, top - 0.1 * s), (x + half_w * 0.25, top + 0.04 * s)], fill=hair)
        elif style == "bun":
            r = half_w * 0.45
            draw.ellipse([cx - r, top - 1.6 * r, cx + r, top + 0.3 * r], fill=hair)

    eye_y = cy - half_h * rng.uniform(0.0, 0.15)
    spacing = half_w * rng.uniform(0.38, 0.5)
    eye_r = s * rng.uniform(0.025, 0.04)
    eyes = int(rng.integers(3))
    ink = (30, 25, 25)
    for side in (-1, 1):
        ex = cx + side * spacing
        if eyes == 0:  # dots
            draw.ellipse([ex - eye_r * 0.6, eye_y - eye_r * 0.6, ex + eye_r * 0.6, eye_y + eye_r * 0.6], fill=ink)
        elif eyes == 1:  # ovals with pupils
            draw.ellipse([ex - eye_r * 1.2, eye_y - eye_r, ex + eye_r * 1.2, eye_y + eye_r], fill=(250, 250, 250), outline=ink, width=max(1, s // 200))
            draw.ellipse([ex - eye_r * 0.5, eye_y - eye_r * 0.5, ex + eye_r * 0.5, eye_y + eye_r * 0.5], fill=ink)
        else:  # closed, smiling
            draw.arc([ex - eye_r * 1.2, eye_y - eye_r, ex + eye_r * 1.2, eye_y + eye_r], 200, 340, fill=ink, width=max(1, s // 120))
        brow_y, tilt = eye_y - eye_r * rng.uniform(1.8, 2.6), side * eye_r * rng.uniform(-0.5, 0.5)
        brow = shade(hair, 0.7)
        draw.line([(ex - eye_r * 1.3, brow_y + tilt), (ex + eye_r * 1.3, brow_y - tilt)], fill=brow, width=max(1, int(s * rng.uniform(0.008, 0.02))))

    glasses = rng.random()
    if glasses < 0.3:
        frame, g = pick(rng, [(20, 20, 20), (120, 70, 30), (170, 30, 40)]), eye_r * 2.0
        width = max(1, s // 110)
        for side in (-1, 1):
            ex = cx + side * spacing
            box = [ex - g, eye_y - g * 0.8, ex + g, eye_y + g * 0.8]
            if glasses < 0.15:
                draw.ellipse(box, outline=frame, width=width)
            else:
                draw.rectangle(box, outline=frame, width=width)
        draw.line([(cx - spacing + g, eye_y), (cx + spacing - g, eye_y)], fill=frame, width=width)

    nose_y = cy + half_h * 0.25
    draw.arc([cx - eye_r, nose_y - eye_r, cx + eye_r, nose_y + eye_r], 20, 160, fill=shade(skin, 0.7), width=max(1, s // 150))
    mouth_y, mouth_w = cy + half_h * rng.uniform(0.5, 0.6), half_w * rng.uniform(0.3, 0.5)
    mouth = int(rng.integers(3))
    lips = (150, 50, 50)
    if mouth == 0:  # smile
        draw.arc([cx - mouth_w, mouth_y - mouth_w * 0.6, cx + mouth_w, mouth_y + mouth_w * 0.4], 20, 160, fill=lips, width=max(1, s // 100))
    elif mouth == 1:  # flat
        draw.line([(cx - mouth_w * 0.7, mouth_y), (cx + mouth_w * 0.7, mouth_y)], fill=lips, width=max(1, s // 100))
    else:  # open
        draw.chord([cx - mouth_w, mouth_y - mouth_w * 0.5, cx + mouth_w, mouth_y + mouth_w * 0.6], 0, 180, fill=(110, 30, 40))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def render(indices: range, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x size x size x 3, hair colour groups N) of the given face indices."""
    images = np.stack([np.asarray(draw_face(i, size)) for i in indices])
    return images, np.array([hair_group(i) for i in indices], dtype=np.int64)
