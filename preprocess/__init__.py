"""The Ray Data preprocessing pipeline (recipes, stages, pipeline, schema); see issue 4."""
