"""Step services: each is a step function, its backends and the shared worker runtime."""
