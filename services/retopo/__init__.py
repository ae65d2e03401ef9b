"""The retopo service."""
