"""Asset quality metrics for bench/quality.py (issue 8's acceptance), one concern per module.

Each function takes plain arrays or `assetcore.geometry.model` objects so that tests can feed it
small synthetic inputs whose right answer is known.
"""
