"""Releasing a model for a tag: tag grammar, artifacts, model card, lineage, targets."""
