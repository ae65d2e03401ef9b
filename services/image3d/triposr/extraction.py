"""TripoSR's density on a regular grid, decoded chunk by chunk, and its surface.

The grid spans the renderer's cube (+-radius) like upstream's marching-cubes helper, and the
surface is taken where the activated density is 25, upstream's level; services/image3d/
field_mesh.py makes it one closed component (upstream's torchmcubes is not on PyPI).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch

from services.image3d.field_mesh import FieldMesh, extract_surface
from services.image3d.triposr.network import Triposr

DENSITY_LEVEL = 25.0
PROGRESS_REPORTS = 50  # progress callbacks (which also cancel) per grid


@torch.inference_mode()
def density_grid(
    model: Triposr, triplane: torch.Tensor, resolution: int, chunk: int, progress: Callable[[float], None]
) -> npt.NDArray[np.float32]:
    """(R, R, R) float32 density; [i, j, k] is at (x_i, y_j, z_k), each axis -radius..radius."""
    radius = model.config.renderer.radius
    axis = torch.linspace(-radius, radius, resolution, device=triplane.device)
    total = resolution**3
    out = torch.empty(total, dtype=torch.float32, device=triplane.device)
    starts = range(0, total, chunk)
    every = max(1, len(starts) // PROGRESS_REPORTS)
    for n, start in enumerate(starts):
        index = torch.arange(start, min(start + chunk, total), device=triplane.device)
        i, j, k = index // (resolution * resolution), (index // resolution) % resolution, index % resolution
        points = torch.stack([axis[i], axis[j], axis[k]], dim=1)
        out[start : start + len(index)] = model.density(triplane, points)
        if n % every == 0:
            progress(n / len(starts))
    grid: npt.NDArray[np.float32] = out.reshape(resolution, resolution, resolution).cpu().numpy()
    return grid


def surface(model: Triposr, density: npt.NDArray[np.float32]) -> FieldMesh:
    """The closed surface in TripoSR's frame (its input camera on +X, +Z up)."""
    radius = model.config.renderer.radius
    return extract_surface(
        density, DENSITY_LEVEL, lower=(-radius,) * 3, upper=(radius,) * 3, inside="above", backend="triposr"
    )
