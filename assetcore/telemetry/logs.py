"""Process logging: one line per record, with the deployable's name, to stderr."""

from __future__ import annotations

import logging
import os
import sys


def configure_logging(component: str, level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {component} %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("ASSETCORE_LOG_LEVEL", "INFO"))
