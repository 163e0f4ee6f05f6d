"""Metrics, registered in lsbench.registry.METRICS."""
