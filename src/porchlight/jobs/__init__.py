"""Jobs: work that runs after a commit, reliably, with retries, progress and a dead letter."""
