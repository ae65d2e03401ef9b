"""Content safety: the prompt policy checked at CreateJob and the image check run as a step gate.

Both refuse with the stable code SAFETY_REJECTED (assetcore.errors), naming a category, never the
offending text in full (docs/security.md).
"""
