"""The step contract: what a step declares once, and what the platform derives from it."""
