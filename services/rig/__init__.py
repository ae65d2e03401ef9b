"""The rig service."""
