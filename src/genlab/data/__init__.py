"""Image sources, preprocessing and batching. Images are uint8 NCHW on disk and in memory;
they become float [-1, 1] only when they enter a model (``transforms.to_model_range``)."""
