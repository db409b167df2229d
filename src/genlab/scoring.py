"""Scoring a run, a folder of images or a dataset: images -> features -> statistics -> metrics.

This module sits above ``genlab.trained`` (trained models) and ``genlab.metrics`` (the maths,
the feature extractors and the feature cache).

Every result carries its protocol (network, weights sha256, resize, N, splits,
shuffle seed, checkpoint, reference) and warnings, so numbers can be compared
honestly. Reference features are cached (``genlab.metrics.feature_cache``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import torch
from torch import Tensor

from genlab.config import EVAL_METRICS, PRDC, Config, NetworkName, check_seed, data_label, load_config, resolve_data_root
from genlab.data.builtin import DRAWN_SETS, builtin_digits, drawn_images
from genlab.data.cifar10 import load_cifar10
from genlab.data.images import ImageFolder, InMemoryImages, fingerprint
from genlab.files import check_output, write_json
from genlab.data.run_data import image_data, target_training_images, test_domains, training_reference, unseen_images
from genlab.reporting.diagnostics import COLLAPSE_WARNING, collapsed, describe_collapse
from genlab.data.transforms import to_uint8
from genlab.errors import GenlabError
from genlab.registry import choose, did_you_mean, unknown_choice
from genlab.families import Translator
from genlab.families.cyclegan import check_direction
from genlab.family import family_for, resolve_ref
from genlab.metrics.diversity import Collapse, collapse_check
from genlab.metrics.feature_cache import cached_features
from genlab.metrics.feature_extractors import FEATURE_EXTRACTORS, FeatureExtractor, Features, make_extractor
from genlab.metrics.fid import feature_statistics, fid_from_stats
from genlab.metrics.inception_score import inception_score_from_logits
from genlab.metrics.kid import kernel_inception_distance
from genlab.metrics.prdc import DC_NEIGHBOURS, PR_NEIGHBOURS, density_coverage, precision_recall
from genlab.trained import load_model
from genlab.sampling import generate

METRICS = EVAL_METRICS
REFERENCE_METRICS = tuple(m for m in METRICS if m != "is")  # compared with real images

@dataclass(frozen=True)
class Protocol:
    """How images are scored: the network and its weights (which fix the resize), how many images, the IS
    splits and shuffle seed, the latents' seed and checkpoint of a run, and the real images for FID/KID.
    Every result records it, so two numbers can be compared only when their protocols agree."""

    network: NetworkName = "tf-inception"
    weights: str | None = None  # a local weights file (default: the network's published weights)
    n: int = 50_000  # images scored (generated for a run)
    splits: int = 10
    shuffle_seed: int = 2020  # torch-fidelity's
    seed: int = 0  # a run's latents
    checkpoint: str = "latest"
    reference: str | None = None  # real images for FID/KID: a dataset name or a folder (a CycleGAN run: its test set)
    reference_n: int = 50_000
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    direction: str = "b2a"  # a CycleGAN run: the test set translated b2a (the assignment's) or a2b

    def __post_init__(self) -> None:
        if self.network not in get_args(NetworkName):
            raise unknown_choice("network", self.network, get_args(NetworkName))
        check_direction(self.direction)
        # KID's unbiased MMD divides by m(m - 1), so a subset needs two images.
        for name, least in (("n", 1), ("splits", 1), ("reference_n", 1), ("kid_subsets", 1), ("kid_subset_size", 2)):
            if getattr(self, name) < least:
                raise GenlabError(f"--{name.replace('_', '-')} must be at least {least} (got {getattr(self, name)})")
        check_seed(self.seed)


# Named protocols: what papers report, and what the assignment's own test code does
# (torchvision's Inception v3, images in [-1, 1] resized bilinearly, softmax, one split, 1,000 samples).
PROTOCOLS: dict[str, Protocol] = {
    "paper": Protocol(network="tf-inception", n=50_000, splits=10),
    "assignment": Protocol(network="torchvision", n=1_000, splits=1),
}


def protocol(name: str = "paper", **changes: Any) -> Protocol:
    """A named protocol with some fields changed (``None`` values leave a field as the protocol has it)."""
    return dataclasses.replace(choose(PROTOCOLS, name, "protocol"), **{k: v for k, v in changes.items() if v is not None})


FID_MIN_IMAGES = 2048

EVAL_DRAWN_SIZE = 64
EVAL_DATASETS: dict[str, Callable[[str], InMemoryImages]] = {
    "builtin": lambda root: builtin_digits("train"),
    "builtin-test": lambda root: builtin_digits("test"),
    "cifar10-train": lambda root: load_cifar10(root, "train"),
    "cifar10-test": lambda root: load_cifar10(root, "test"),
    # the drawn sets at 64 px: NAME (its training images) and NAME-test
    **{f"{name}{suffix}": (lambda root, name=name, split=split: drawn_images(name, split, EVAL_DRAWN_SIZE, data_root=root))
       for name in DRAWN_SETS for suffix, split in (("", "train"), ("-test", "test"))},
}


@dataclass
class ImageSource:
    """Up to ``n`` uint8 images of a run (generated), a dataset or a folder, in batches."""

    description: str
    n: int
    batches: Callable[[], Iterator[Tensor]]
    checkpoint: str | None = None
    cache_key: str | None = None  # for real images only: what identifies them


def _in_memory(images: Tensor, batch_size: int) -> Callable[[], Iterator[Tensor]]:
    return lambda: (images[i : i + batch_size] for i in range(0, len(images), batch_size))


def _stacked(dataset, n: int, batch_size: int, where: str) -> Callable[[], Iterator[Tensor]]:
    """The first n images of a dataset in stacked batches; images of different sizes are a clear error."""

    def batches() -> Iterator[Tensor]:
        sizes: set[tuple[int, ...]] = set()
        for start in range(0, n, batch_size):
            images = [dataset[i] for i in range(start, min(n, start + batch_size))]
            sizes |= {tuple(t.shape) for t in images}
            if len(sizes) > 1:
                raise GenlabError(f"images in {where} have different sizes {sorted(sizes)[:2]}; resize them to one size first")
            yield torch.stack(images)

    return batches


def cyclegan_sources(
    run_dir: str | Path, *, direction: str, n: int, batch_size: int, checkpoint: str, device: str
) -> tuple[ImageSource, ImageSource]:
    """(the test set translated in ``direction``, the real test set of the target domain)."""
    check_direction(direction)
    trained = load_model(run_dir, checkpoint, device)
    run, cfg, model = trained.run, trained.cfg, trained.model
    test_a, test_b = test_domains(cfg)
    source, target = (test_b, test_a) if direction == "b2a" else (test_a, test_b)
    count = min(n, len(source))
    translated = lambda: (  # noqa: E731
        to_uint8(model.translate(x, direction)).cpu() for x in _stacked(source, count, batch_size, f"{run.root}'s test set")()
    )
    real_n = min(n, len(target))
    domain = "A" if direction == "b2a" else "B"
    return (
        ImageSource(f"{run.root} (test set translated {direction}, {checkpoint} checkpoint)", count, translated, checkpoint=checkpoint),
        ImageSource(f"{data_label(cfg)}: real test {domain}", real_n, _stacked(target, real_n, batch_size, f"{run.root}'s test set"),
                    cache_key=f"cyclegan-test{domain}:{data_label(cfg)}:{cfg.image_size}:{real_n}:{fingerprint(target)}"),
    )


def open_source(
    source: str, *, n: int, batch_size: int, seed: int = 0, checkpoint: str = "latest", device: str = "cpu",
    data_root: str | None = None, direction: str = "b2a",
) -> ImageSource:
    """A run folder (samples from its generator; a CycleGAN's translated test set), a named dataset, or a folder of images."""
    path = Path(source).expanduser()
    if (path / "config.json").is_file():
        if translates(source):
            return cyclegan_sources(path, direction=direction, n=n, batch_size=batch_size, checkpoint=checkpoint, device=device)[0]
        trained = load_model(path, checkpoint, device)
        return ImageSource(
            f"{trained.run.root} ({checkpoint} checkpoint, seed {seed})",
            n,
            lambda: (to_uint8(x) for x in generate(trained.model, n, seed=seed, batch_size=batch_size)),
            checkpoint=checkpoint,
        )
    if source in EVAL_DATASETS:
        images = EVAL_DATASETS[source](resolve_data_root(data_root or "auto")).images[:n]
        return ImageSource(source, len(images), _in_memory(images, batch_size), cache_key=f"{source}:{len(images)}")
    if not path.exists() and "/" in source:
        raise GenlabError(f"{source} does not exist; give a run folder, an image folder or one of {sorted(EVAL_DATASETS)}")
    if path.exists():
        folder = ImageFolder(path, decode=True)  # a truncated file is skipped and counted, not met halfway
        count = min(n, len(folder))
        key = f"{path.resolve()}:{len(folder)}:{count}:{fingerprint(folder)}"  # an edited folder is scored anew
        return ImageSource(str(path), count, _stacked(folder, count, batch_size, str(folder.folder)), cache_key=key)
    raise GenlabError(
        f"unknown image source {source!r}{did_you_mean(source, EVAL_DATASETS)}; give a run folder, an image folder "
        f"or one of {sorted(EVAL_DATASETS)}"
    )


def features_of(source: ImageSource, extractor: FeatureExtractor, desc: str) -> Features:
    """Features of a source; real images' features are cached on disk."""
    return cached_features(extractor, source.batches, n=source.n, key=source.cache_key, name=source.description, desc=desc)


def check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise GenlabError(f"--batch-size must be at least 1 (got {batch_size})")


@dataclass
class Evaluation:
    source: str
    metrics: dict[str, float]
    protocol: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    features: Features | None = field(default=None, repr=False, compare=False)  # of the scored images; not saved
    # the same metrics of real images the run never saw, against the same reference: the best a model can score
    ceiling: dict[str, Any] | None = None  # {"source", "n", "metrics"}

    def to_dict(self) -> dict[str, Any]:
        """The result as saved: source, metrics, protocol, warnings (and the real-against-real ceiling)."""
        out = {"source": self.source, "metrics": self.metrics, "protocol": self.protocol, "warnings": self.warnings}
        return out | ({"ceiling": self.ceiling} if self.ceiling is not None else {})

    def table(self) -> str:
        """The metrics and the protocol as aligned text lines (what genlab evaluate prints)."""
        rows = [("metric", "value")] + [(k, f"{v:.6g}") for k, v in self.metrics.items()]
        if self.ceiling is not None:
            rows += [(f"real.{k}", f"{v:.6g}") for k, v in self.ceiling["metrics"].items()]
            rows.append(("real.source", f"{self.ceiling['source']} ({self.ceiling['n']:,} images)"))
        rows += [(f"protocol.{k}", str(v)) for k, v in self.protocol.items()]
        width = max(len(r[0]) for r in rows)
        lines = [f"{a:<{width}}  {b}" for a, b in rows]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])

    def save(self, path: str | Path) -> Path:
        """Write the JSON that genlab evaluate writes (refused inside a run's own files); returns the path."""
        path = check_output(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, self.to_dict())
        return path


def evaluate(
    source: str,
    protocol: Protocol = PROTOCOLS["paper"],
    *,
    metrics: tuple[str, ...] = ("is",),
    batch_size: int = 100,
    device: str = "cpu",
    data_root: str | None = None,
    extractor: FeatureExtractor | None = None,
    ceiling: bool = True,
) -> Evaluation:
    """Score ``source`` under ``protocol``; for a CycleGAN run, its test set translated in the protocol's direction,
    and by default FID/KID against the real test set of the target domain. ``extractor``: one already made for
    the protocol's network (reused across calls). ``ceiling``: for a run, also score as many real images that it
    never saw (its held-out or test images; a CycleGAN's real training images of the target domain) against the
    same reference, the ceiling each number can reach."""
    p = protocol
    check_batch_size(batch_size)
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise GenlabError(f"unknown metric(s) {unknown}; choose from {list(METRICS)}")
    if "is" in metrics and getattr(FEATURE_EXTRACTORS.get(p.network), "classes", 1) == 0:
        raise GenlabError(
            f"IS needs a classifier's logits; {p.network} gives features only (use it for "
            f"{', '.join(REFERENCE_METRICS)}, and tf-inception, torchvision or builtin for IS)"
        )
    cyclegan = translates(source)
    default_reference = False
    compared = any(m in REFERENCE_METRICS for m in metrics)
    if compared and p.reference is None and not cyclegan:
        if not (Path(source).expanduser() / "config.json").is_file():
            raise GenlabError(
                "FID, KID, precision, recall, density and coverage compare against real images; give --reference "
                "(a dataset name or an image folder)"
            )
        p = dataclasses.replace(p, reference=training_reference(load_config(Path(source).expanduser() / "config.json")))
        default_reference = True  # a run is compared with the images it trained on
    ref_source = None
    if cyclegan:
        images, target = cyclegan_sources(source, direction=p.direction, n=p.n, batch_size=batch_size, checkpoint=p.checkpoint, device=device)
        ref_source = target if p.reference is None else None
    else:
        images = open_source(source, n=p.n, batch_size=batch_size, seed=p.seed, checkpoint=p.checkpoint, device=device, data_root=data_root)
    extractor = extractor or make_extractor(p.network, p.weights, device=device)  # after the source: a bad path is named first
    ours = features_of(images, extractor, "features")
    result = Evaluation(
        images.description,
        {},
        {
            "network": extractor.name,
            "weights": str(extractor.weights_path),
            "weights_sha256": extractor.weights_sha256,
            "resize": extractor.resize,
            "n": images.n,
            "checkpoint": images.checkpoint,
            "sample_seed": p.seed if images.checkpoint and not cyclegan else None,
            **({"direction": p.direction} if cyclegan else {}),
        },
        features=ours,
    )
    if images.n < p.n:
        result.warnings.append(f"{p.n:,} images were asked for and {images.description} has {images.n:,}; scored {images.n:,}")
    if "is" in metrics:
        mean, std = inception_score_from_logits(ours.logits, splits=p.splits, seed=p.shuffle_seed)
        result.metrics.update(is_mean=mean, is_std=std)
        result.protocol.update(splits=p.splits, shuffle_seed=p.shuffle_seed)
    if compared:
        if ref_source is None:
            ref_source = open_source(p.reference, n=p.reference_n, batch_size=batch_size, data_root=data_root, device=device)
        ref = features_of(ref_source, extractor, "reference features")
        result.protocol.update(reference=ref_source.description, reference_n=ref_source.n)
        if default_reference:
            result.protocol["reference_is"] = "the run's training data (the default; --reference chooses another)"
        if "fid" in metrics and min(images.n, ref_source.n) < 2:
            raise GenlabError("FID needs at least 2 images on each side")
        if "fid" in metrics and min(images.n, ref_source.n) < FID_MIN_IMAGES:
            result.warnings.append(
                f"FID on fewer than {FID_MIN_IMAGES:,} images ({min(images.n, ref_source.n):,}) is biased upward "
                "and not comparable with published numbers; compare KID instead"
            )
        size = min(p.kid_subset_size, images.n, ref_source.n)
        if "kid" in metrics:
            if size < p.kid_subset_size:
                result.warnings.append(f"KID subset size lowered from {p.kid_subset_size} to {size} (the images available)")
            result.protocol.update(kid_subsets=p.kid_subsets, kid_subset_size=size, kid_seed=p.shuffle_seed)
        result.metrics.update(compared_with_real(ours.pool, ref.pool, metrics, kid_subsets=p.kid_subsets, kid_subset_size=size, seed=p.shuffle_seed))
        if any(m in metrics for m in PRDC):
            result.protocol.update(prdc_neighbours={"precision_recall": PR_NEIGHBOURS, "density_coverage": DC_NEIGHBOURS})
        if images.n >= 2 and ref_source.n >= 2:
            flag_collapse(result, collapse_check(ours.pool, ref.pool))
        if ceiling and (Path(source).expanduser() / "config.json").is_file():
            attach_ceiling(result, source, metrics, p, ref, extractor, batch_size=batch_size, cyclegan=cyclegan)
    return result


def attach_ceiling(
    result: Evaluation, run_dir: str, metrics: Sequence[str], p: Protocol, ref: Features, extractor: FeatureExtractor, *,
    batch_size: int, cyclegan: bool,
) -> None:
    """``result.ceiling``: the run's unseen real images scored like its samples (``real_ceiling``), with a warning
    when there are fewer of them than samples scored."""
    n = result.protocol["n"]
    result.ceiling = real_ceiling(run_dir, metrics, p, n, ref, extractor, batch_size=batch_size, cyclegan=cyclegan)
    if result.ceiling is not None and result.ceiling["n"] < n and any(m in metrics for m in ("recall", "coverage")):
        result.warnings.append(
            f"the real-against-real ceiling has {result.ceiling['n']:,} unseen images where {n:,} were scored; "
            f"recall and coverage grow with the number of images, so its recall and coverage are lower than "
            f"{n:,} unseen images would give"
        )


def real_ceiling(
    run_dir: str, metrics: Sequence[str], p: Protocol, n: int, ref: Features, extractor: FeatureExtractor, *, batch_size: int,
    cyclegan: bool,
) -> dict[str, Any] | None:
    """The metrics of up to ``n`` real images that a run never trained on (IS of theirs; the others against ``ref``),
    or None when it trained on every image there is."""
    cfg = load_config(Path(run_dir).expanduser() / "config.json")
    test_split = {"cifar10-train": "cifar10-test"}.get(training_reference(cfg), f"{training_reference(cfg)}-test")
    if cyclegan:
        unseen, what = target_training_images(cfg, p.direction), "training images of the target domain"
    elif p.reference == test_split:  # the reference is the unseen images themselves: the training images are the other set
        unseen, what = image_data(cfg)[0], "training images"
    else:
        try:
            unseen, what = unseen_images(cfg), "images the run never trained on"
        except GenlabError:
            return None
    count = min(n, len(unseen))
    if count < 2:
        return None
    what = f"{data_label(cfg)}: real {what}"
    real = features_of(ImageSource(what, count, _stacked(unseen, count, batch_size, what)), extractor, "real-against-real features")
    out: dict[str, float] = {}
    if "is" in metrics:
        out["is_mean"], out["is_std"] = inception_score_from_logits(real.logits, splits=min(p.splits, count), seed=p.shuffle_seed)
    size = min(p.kid_subset_size, count, len(ref.pool))
    out.update(compared_with_real(real.pool, ref.pool, metrics, kid_subsets=p.kid_subsets, kid_subset_size=size, seed=p.shuffle_seed))
    return {"source": what, "n": count, "metrics": out}


def compared_with_real(
    ours: Tensor, real: Tensor, metrics: Sequence[str], *, kid_subsets: int = Protocol.kid_subsets,
    kid_subset_size: int = Protocol.kid_subset_size, seed: int = Protocol.shuffle_seed,
) -> dict[str, float]:
    """The asked-for metrics of ``ours`` against ``real`` pool features: fid, kid_mean/kid_std, precision, recall,
    density, coverage (the columns of an evaluation JSON and of history.csv)."""
    out: dict[str, float] = {}
    if "fid" in metrics:
        out["fid"] = fid_from_stats(feature_statistics(ours), feature_statistics(real))
    if "kid" in metrics:
        out["kid_mean"], out["kid_std"] = kernel_inception_distance(ours, real, subsets=kid_subsets, subset_size=kid_subset_size, seed=seed)
    if "precision" in metrics or "recall" in metrics:
        precision, recall = precision_recall(real, ours)
        out.update({k: v for k, v in (("precision", precision), ("recall", recall)) if k in metrics})
    if "density" in metrics or "coverage" in metrics:
        density, coverage = density_coverage(real, ours)
        out.update({k: v for k, v in (("density", density), ("coverage", coverage)) if k in metrics})
    return out


def flag_collapse(result: Evaluation, check: Collapse) -> None:
    """Add the collapse statistics (pool features against the real images') and a warning when collapsed."""
    result.metrics.update(check.to_dict())
    if collapsed(check):
        result.warnings.append(f"{result.source}: {COLLAPSE_WARNING}: {describe_collapse(check)}")


def collapse_warnings(warnings: list[str]) -> list[str]:
    """The collapse warnings among a result's warnings (the ones a report repeats beside its scores)."""
    return [w for w in warnings if COLLAPSE_WARNING in w]



def translates(source: str | Path) -> bool:
    """Whether ``source`` is a run folder whose model translates (scored on its test set, translated) rather than
    samples: asked of the family's model class, without building it."""
    config = Path(source).expanduser() / "config.json"
    if not config.is_file():
        return False
    model = resolve_ref(family_for(load_config(config)).model)
    return isinstance(model, type) and issubclass(model, Translator)
