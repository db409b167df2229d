"""The shared loop (``fit``), run folders, checkpoints, and one training step per family."""
