"""Material patterns in -1..1 (wood grain, speckle, fur ...), drawn from a seeded generator."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

Field = npt.NDArray[np.float32]


class PatternMaker:
    """Patterns for an (H, W) canvas; `unit` is the canvas side / 1024, so patterns scale with size."""

    def __init__(self, shape: tuple[int, int], unit: float, rng: np.random.Generator) -> None:
        self.shape = shape
        self.unit = unit
        self.rng = rng

    def noise(self, cell_x: float, cell_y: float | None = None) -> Field:
        """Smooth unit-variance noise with features about `cell` pixels (at 1024) across."""
        h, w = self.shape
        cell_y = cell_x if cell_y is None else cell_y
        grid = (max(2, int(w / (cell_x * self.unit)) + 2), max(2, int(h / (cell_y * self.unit)) + 2))
        coarse = self.rng.standard_normal((grid[1], grid[0])).astype(np.float32)
        field = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
        unit_variance: Field = (field - field.mean()) / (field.std() + 1e-6)
        return unit_variance

    def make(self, kind: str, vertical: bool) -> Field:
        h, w = self.shape
        if kind == "grain":
            axis = np.arange(w if vertical else h, dtype=np.float32) / (9.0 * self.unit)
            coord = axis[None, :] if vertical else axis[:, None]
            warp = self.noise(20, 90) if vertical else self.noise(90, 20)
            return np.sin(2.0 * np.pi * coord + 1.8 * warp)
        if kind == "speckle":
            return np.clip(0.6 * self.noise(5) + 0.4 * self.noise(16), -2.0, 2.0) / 2.0
        if kind == "brushed":
            return np.clip(self.noise(80, 3), -2.0, 2.0) / 2.0
        if kind == "fur":
            return np.clip(self.noise(3, 12), -2.0, 2.0) / 2.0
        if kind == "clumps":
            clumps: Field = np.tanh(1.5 * self.noise(16))
            return clumps
        if kind == "stripes":
            cols = np.arange(w, dtype=np.float32)[None, :] / (38.0 * self.unit)
            wave = np.sin(2.0 * np.pi * cols + 1.6 * self.noise(60, 40))
            return -(wave > 0.55).astype(np.float32)
        if kind == "spots":
            return -(self.noise(30) > 0.9).astype(np.float32)
        return np.zeros(self.shape, dtype=np.float32)
