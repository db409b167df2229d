"""``genlab translate``: a trained CycleGAN generator applied to every image of a folder.

Images are preprocessed as at test time (resized to the trained size) unless
``full_resolution`` is asked for, in which case each image is translated at its
own size (both sides must be multiples of 4). File names (and sub-folders) are kept.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

from genlab.data.images import ImageFolder
from genlab.data.transforms import to_uint8
from genlab.data.unpaired import test_transform
from genlab.errors import GenlabError
from genlab.files import check_output
from genlab.families.cyclegan import CycleGAN, check_direction
from genlab.trained import load_model


def translate_folder(
    run_dir: str | Path, direction: str, input_dir: str | Path, output_dir: str | Path, *,
    checkpoint: str = "latest", device: str = "cpu", full_resolution: bool = False,
) -> int:
    """Translate every image under ``input_dir`` into ``output_dir``; returns the count."""
    check_direction(direction)
    trained = load_model(run_dir, checkpoint, device)
    cfg, model = trained.cfg, trained.model
    if not isinstance(model, CycleGAN):
        raise GenlabError(f"{run_dir} is not a CycleGAN run; translation needs a model trained with 'genlab train cyclegan'")
    folder = ImageFolder(input_dir, decode=True)  # a truncated file is skipped and counted, not met halfway
    output_dir = check_output(output_dir, "--output")
    if output_dir.resolve() == folder.folder.resolve():
        raise GenlabError("--output must differ from --input (translated images would overwrite the originals)")
    for index in tqdm(range(len(folder)), desc=f"translating {direction}", unit="img"):
        image = folder[index]
        if full_resolution:
            if image.shape[1] % 4 or image.shape[2] % 4:
                raise GenlabError(
                    f"{folder.files[index]} is {image.shape[2]}x{image.shape[1]}; full resolution needs sides that are "
                    "multiples of 4 (leave out --full-resolution to resize)"
                )
        else:
            image = test_transform(image, preprocess="resize" if cfg.preprocess == "none" else cfg.preprocess, crop_size=cfg.image_size)
        out = to_uint8(model.translate(image[None], direction))[0].permute(1, 2, 0).cpu().numpy()
        target = output_dir / folder.files[index].relative_to(folder.folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out).save(target)
    return len(folder)
