"""Evaluation: metric maths on tensors (IS, FID, KID), feature extractors, weights, and the evaluation runner."""
