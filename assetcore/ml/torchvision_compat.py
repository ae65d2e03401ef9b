"""Make `import torchvision` work where PyPI's torchvision is a CUDA build beside a CPU torch.

PyPI has no CPU torchvision for torch 2.13 (`0.28.0+cu130` only). Its compiled ops library
fails to load beside the CPU torch, and the Python package then fails at import because it
registers fake kernels for `torchvision::nms`/`qnms`, which the library would have defined.
hy3dgen and spandrel import torchvision for its transforms and layers, which are pure Python.
So: when the library does not load, define the two operator schemas (no kernels) before the
import. Transforms and layers work; torchvision's compiled ops (nms, roi_align, ...) do not,
and nothing here uses them. GPU images install a matching CUDA torchvision, whose library
loads, and this does nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


@cache
def ensure_torchvision_importable() -> None:
    """Call before anything imports torchvision (hy3dgen, spandrel). Idempotent."""
    if "torchvision" in sys.modules:
        return
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return
    import torch

    library = Path(spec.origin).parent / "_C.so"
    try:
        torch.ops.load_library(str(library))  # type: ignore[no-untyped-call]
        return
    except OSError as exc:
        log.info("torchvision's compiled ops do not load here (%s): defining their schemas only", exc)
    definitions = torch.library.Library("torchvision", "DEF")  # type: ignore[no-untyped-call]
    for schema in _SCHEMAS:
        definitions.define(schema)  # type: ignore[no-untyped-call]
    _keep.append(definitions)  # the schemas live as long as the Library object


_keep: list[object] = []
