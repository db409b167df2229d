"""The built-in evaluation network: a small CNN that classifies the built-in digits.

It plays Inception's role offline: its 10-way logits give an Inception-Score-like
score and its 64-d penultimate features give FID/KID-like distances, on the
built-in data only (numbers are not comparable with Inception-based ones).
Trained by ``scripts/train_builtin_classifier.py``; the weights ship in
``genlab/metrics/weights/builtin-classifier.pt`` with a provenance note beside them.

Input: (N, 3, 32, 32) in [-1, 1].
"""

from __future__ import annotations

from torch import Tensor, nn


class DigitClassifier(nn.Module):
    def __init__(self, *, width: int = 16, features: int = 64, classes: int = 10) -> None:
        super().__init__()
        layers, c_in = [], 3
        for c_out in (width, 2 * width, 4 * width):  # 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*layers, nn.Flatten())  # (N, 4 * width * 16)
        self.features = nn.Sequential(nn.Linear(c_in * 16, features), nn.ReLU())  # (N, 64)
        self.classifier = nn.Linear(features, classes)  # (N, 10)

    def forward_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(logits (N, 10), features (N, 64))."""
        features = self.features(self.body(x))
        return self.classifier(features), features

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_features(x)[0]
