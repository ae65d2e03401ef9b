"""The step-worker runtime shared by every step service."""
