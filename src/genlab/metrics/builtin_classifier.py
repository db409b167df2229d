"""The built-in evaluation network: a small CNN that classifies every built-in dataset.

It plays Inception's role offline: its 28-way logits give an Inception-Score-like
score and its 64-d penultimate features give FID/KID-like distances, on the
built-in data only (numbers are not comparable with Inception-based ones). The
classes (``CLASSES``): the ten digits; the four scene kinds of ``seasons`` in
summer and in winter; the five hair colour groups of ``toonfaces`` and of
``animefaces``. So a season, a drawing style and the variety within each are
what the scores see.
Trained by ``scripts/train_builtin_classifier.py``; the weights ship in
``genlab/metrics/weights/builtin-classifier.pt`` with a provenance note beside them.

Input: (N, 3, 32, 32) in [-1, 1].
"""

from __future__ import annotations

from torch import Tensor, nn


from genlab.data.builtin import seasons, toonfaces

CLASSES: tuple[str, ...] = (
    *(f"digit {d}" for d in range(10)),
    *(f"{season} {kind}" for season in seasons.SEASONS for kind in seasons.KINDS),
    *(f"{style} {hair} hair" for style in ("toon", "anime") for hair in toonfaces.HAIR_GROUPS),
)
# where each built-in set's own labels start among CLASSES
LABEL_OFFSETS = {"digits": 0, "seasons-summer": 10, "seasons-winter": 14, "toonfaces": 18, "animefaces": 23}


class BuiltinNet(nn.Module):
    def __init__(self, *, width: int = 16, features: int = 64, classes: int = len(CLASSES)) -> None:
        super().__init__()
        layers, c_in = [], 3
        for c_out in (width, 2 * width, 4 * width):  # 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten())  # (N, 4 * width * 16)
        self.features = nn.Sequential(nn.Linear(c_in * 16, features), nn.ReLU())  # (N, 64)
        self.classifier = nn.Linear(features, classes)  # (N, 28)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(logits (N, 28), features (N, 64))."""
        features = self.features(self.body(x))
        return self.classifier(features), features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x)[0]
