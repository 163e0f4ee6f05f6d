"""Bundled lip-sync models, one file each, registered in lsbench.registry.MODELS."""
