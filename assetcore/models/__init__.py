"""The model store: pinned weights with manifests (see store.py)."""
