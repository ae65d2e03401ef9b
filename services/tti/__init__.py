"""The tti service."""
