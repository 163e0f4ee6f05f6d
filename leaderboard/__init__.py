"""Static leaderboard site builder; reads results JSON only (see issue 7)."""
