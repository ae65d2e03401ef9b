"""The anim service."""
