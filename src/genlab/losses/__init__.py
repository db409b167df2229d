"""Objectives as functions of logits, named for their maths."""
