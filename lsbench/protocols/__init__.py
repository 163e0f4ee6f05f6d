"""Evaluation protocols, registered in lsbench.registry.PROTOCOLS."""
