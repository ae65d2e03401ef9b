"""The refine service."""
