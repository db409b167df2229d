"""Networks that turn images into class logits (for IS) and pool features (for FID/KID).

Registry (``--network``):
- ``torchvision``: torchvision's Inception v3 with ImageNet weights (the assignment's
  network): 1000-way logits, 2048-d pool features. Images in [-1, 1] are resized to
  299x299 bilinearly (align_corners=False) and fed as they are (transform_input=False).
- ``tf-inception``: the 2015 TF Inception graph that papers report, as torch-fidelity
  ports it (its extractor, with its TF-exact resize from uint8): 1008-way
  ``logits_unbiased`` for IS and 2048-d pool features.
- ``builtin``: genlab's small digit classifier (weights ship with genlab): 10-way
  logits and 64-d features at 32x32; works offline, for the built-in data.
- ``dinov2``: DINOv2 ViT-L/14 (``genlab.metrics.dinov2``), 1024-d class-token features,
  the network Stein et al. (2023) recommend for the Frechet distance; preprocessing as
  torch-fidelity's ``dinov2-vit-l-14`` (TF-exact bilinear 224x224 from uint8, ImageNet
  mean and std). Features only: no class logits, so no IS.
- ``clip``: CLIP ViT-L/14's image tower, 768-d embeddings, built by torch-fidelity's
  ``clip-vit-l-14`` extractor from the published archive's tensors (read as data) with
  its preprocessing (TF-exact bilinear 224x224 from uint8, CLIP mean and std). No IS.

Every extractor runs in eval mode under ``torch.inference_mode()``, takes uint8
NCHW images (or float in [-1, 1]) and returns float32 (logits, features) on the CPU.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from genlab.config import NetworkName
from genlab.data.transforms import to_model_range, to_uint8
from genlab.errors import GenlabError
from genlab.metrics.builtin_classifier import CLASSES, BuiltinNet
from genlab.metrics.dinov2 import DinoV2
from genlab.metrics.weights import load_state_dict, resolve_weights, weights_sha256
from genlab.registry import choose

INCEPTION_SIZE = 299


class Features(NamedTuple):
    logits: Tensor  # (N, K)
    pool: Tensor  # (N, D)


def _as_uint8(images: Tensor) -> Tensor:
    return images if images.dtype == torch.uint8 else to_uint8(images)


def _as_model_range(images: Tensor, device: torch.device) -> Tensor:
    return to_model_range(images, device) if images.dtype == torch.uint8 else images.to(device).float()


def resize_bilinear(x: Tensor, size: int) -> Tensor:
    """The one resize of the torchvision and builtin networks: bilinear, align_corners=False, no antialias."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


class FeatureExtractor:
    name: str
    resize: str
    classes: int

    def __init__(self, weights: str | Path | None = None, *, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.weights_path = resolve_weights(self.name, weights)
        self._sha256: str | None = None
        state = load_state_dict(self.weights_path, self.name)
        try:
            model = self.build(state).eval().requires_grad_(False)
        except (RuntimeError, KeyError, ValueError) as e:  # tensors of another network
            reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
            raise GenlabError(f"{self.weights_path} is not a {self.name} weights file ({reason}); check --weights") from None
        # channels_last: same numbers, ~1.2x faster convolutions (benchmarks/bench_metrics.py)
        self.model = model.to(self.device, memory_format=torch.channels_last)

    @property
    def weights_sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = weights_sha256(self.weights_path)
        return self._sha256

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        """The network holding ``state`` (tensors read with ``weights_only=True``)."""
        raise NotImplementedError

    def forward(self, images: Tensor) -> Features:
        raise NotImplementedError

    @torch.inference_mode()
    def __call__(self, images: Tensor) -> Features:
        logits, pool = self.forward(images)
        return Features(logits.float().cpu(), pool.float().cpu())


class TorchvisionInception(FeatureExtractor):
    name, classes = "torchvision", 1000
    resize = f"bilinear {INCEPTION_SIZE}x{INCEPTION_SIZE}, align_corners=False, input in [-1, 1], transform_input=False"

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        from torchvision.models import inception_v3

        model = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        model.load_state_dict(state)
        self._pool: list[Tensor] = []
        model.avgpool.register_forward_hook(lambda module, inputs, output: self._pool.append(output.flatten(1)))
        return model

    def forward(self, images: Tensor) -> Features:
        x = resize_bilinear(_as_model_range(images, self.device), INCEPTION_SIZE)
        self._pool.clear()
        logits = self.model(x)
        return Features(logits, self._pool.pop())


class TFInception(FeatureExtractor):
    name, classes = "tf-inception", 1008
    resize = f"TF-exact bilinear {INCEPTION_SIZE}x{INCEPTION_SIZE} from uint8 (torch-fidelity)"

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        # torch-fidelity unpickles what it is given with weights_only=False: it gets the verified tensors,
        # serialised here, never the user's file
        verified = io.BytesIO()
        torch.save(state, verified)
        verified.seek(0)
        return FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased", "2048"], feature_extractor_weights_path=verified)

    def forward(self, images: Tensor) -> Features:
        logits, pool = self.model(_as_uint8(images).to(self.device))
        return Features(logits, pool)


class BuiltinClassifier(FeatureExtractor):
    name, classes = "builtin", len(CLASSES)
    resize = "bilinear 32x32, align_corners=False, input in [-1, 1]"

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        model = BuiltinNet()
        model.load_state_dict(state)
        return model

    def forward(self, images: Tensor) -> Features:
        return Features(*self.model.forward_features(resize_bilinear(_as_model_range(images, self.device), 32)))


def _tf_resized_and_normalised(images: Tensor, device: torch.device, size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    """torch-fidelity's preprocessing of its DINOv2 and CLIP extractors: uint8 -> TF-exact bilinear resize -> mean/std."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = _as_uint8(images).to(device).float()
    x = interpolate_bilinear_2d_like_tensorflow1x(x, size=(size, size), align_corners=False)
    mean_t = torch.tensor([255 * m for m in mean], device=device).view(1, 3, 1, 1)
    std_t = torch.tensor([255 * s for s in std], device=device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


class FeaturesOnly(FeatureExtractor):
    """A network with features and no classes: IS is not defined on it."""

    classes = 0

    def embed(self, images: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, images: Tensor) -> Features:
        pool = self.embed(images)
        return Features(pool.new_zeros(len(pool), 0), pool)


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
VIT_SIZE = 224


class DinoV2Extractor(FeaturesOnly):
    name = "dinov2"
    resize = f"TF-exact bilinear {VIT_SIZE}x{VIT_SIZE} from uint8, ImageNet mean and std (torch-fidelity's dinov2-vit-l-14)"

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        model = DinoV2(state)
        model.load_state_dict(state)
        return model

    def embed(self, images: Tensor) -> Tensor:
        return self.model(_tf_resized_and_normalised(images, self.device, VIT_SIZE, IMAGENET_MEAN, IMAGENET_STD))


class ClipExtractor(FeaturesOnly):
    name = "clip"
    resize = f"TF-exact bilinear to the model's size ({VIT_SIZE}x{VIT_SIZE} for ViT-L/14) from uint8, CLIP mean and std (torch-fidelity's clip-vit-l-14)"

    def build(self, state: dict[str, Tensor]) -> nn.Module:
        from torch_fidelity.feature_extractor_clip import build_model

        image_tower = {k: v for k, v in state.items() if k.startswith("visual.") or k == "text_projection"}
        return build_model(image_tower, torch.float32)

    def embed(self, images: Tensor) -> Tensor:
        size = self.model.visual.input_resolution
        return self.model.visual(_tf_resized_and_normalised(images, self.device, size, CLIP_MEAN, CLIP_STD))


FEATURE_EXTRACTORS: dict[NetworkName, Callable[..., FeatureExtractor]] = {
    "torchvision": TorchvisionInception,
    "tf-inception": TFInception,
    "builtin": BuiltinClassifier,
    "dinov2": DinoV2Extractor,
    "clip": ClipExtractor,
}


def make_extractor(name: str, weights: str | Path | None = None, *, device: str = "cpu") -> FeatureExtractor:
    return choose(FEATURE_EXTRACTORS, name, "network")(weights, device=device)


def extract(extractor: FeatureExtractor, batches: Iterable[Tensor], *, total: int | None = None, desc: str = "features") -> Features:
    """Run the extractor over batches of images, with a progress bar in images/s."""
    logits, pool = [], []
    with tqdm(total=total, desc=desc, unit="img", unit_scale=True, leave=False) as bar:
        for images in batches:
            out = extractor(images)
            logits.append(out.logits)
            pool.append(out.pool)
            bar.update(images.shape[0])
    if not logits:
        raise GenlabError("no images to evaluate")
    return Features(torch.cat(logits), torch.cat(pool))
