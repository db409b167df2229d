"""Training: the shared loop (``fit``), one training step per family built on its model (``genlab.families``), and starting or resuming a run."""
