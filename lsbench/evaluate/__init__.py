"""The evaluation harness: plan -> produce -> score -> document (docs/architecture.md)."""

from .run import evaluate

__all__ = ["evaluate"]
