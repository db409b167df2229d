"""History of generated images for the discriminators (Shrivastava et al. 2017; CycleGAN section 4).

Until the pool holds ``size`` images, every generated image is stored and
returned. Then each new image is, with probability 1/2, swapped for a random
stored one (the stored one is returned, the new one kept), else returned as is.
Randomness comes from the pool's own generator, saved with its contents.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class ImagePool:
    def __init__(self, size: int, *, seed: int = 0) -> None:
        self.size = size
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.cat(self.images).cpu() if self.images else torch.empty(0)
        return {"images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        stored = state["images"]
        self.images = [image.unsqueeze(0).to(device) for image in stored] if stored.numel() else []
        self.generator.set_state(state["generator"])
