"""genlab: train, sample and evaluate classic image generative models.

The DCGAN family (GAN, LSGAN, WGAN, WGAN-GP losses), with the shared training
loop, run folders, checkpoints and reporting that every family uses.
"""

__version__ = "0.1.0"

from genlab import families as _families  # noqa: E402,F401 - registers the built-in families (no torch import)
