"""lsbench: lip-sync research toolkit (preprocess corpora, evaluate models, publish a leaderboard)."""

__version__ = "0.1.0"
