"""The image3d service."""
