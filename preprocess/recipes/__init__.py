"""Dataset recipes: plain functions that find clips, splits and transcripts (no Ray code)."""
