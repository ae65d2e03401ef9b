"""Progress, previews and cancellation inside a diffusers denoising loop.

diffusers calls `callback_on_step_end` after every denoising step. `DenoiseProgress` turns
that into the step's progress report, with a latent preview at most once per interval; the
report raises `StepCancelled` when the job was cancelled or the worker drains, which unwinds
the pipeline call: a cancelled job stops within one denoising step.
"""

from __future__ import annotations

import time
from typing import Any

from assetcore.ml.previews import LatentPreviewer
from assetcore.worker.backend import Progress


class DenoiseProgress:
    def __init__(
        self,
        progress: Progress,
        *,
        label: str,
        steps: int,
        span: tuple[float, float] = (0.0, 1.0),
        previewer: LatentPreviewer | None = None,
        preview_interval_s: float = 1.0,
    ) -> None:
        self._progress = progress
        self._label = label
        self._steps = max(1, steps)
        self._span = span
        self._previewer = previewer
        self._interval = preview_interval_s
        self._last_preview = float("-inf")
        self.completed = 0  # denoising steps finished so far

    def __call__(self, pipe: Any, step_index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        self.completed += 1
        start, end = self._span
        fraction = start + (end - start) * min(1.0, self.completed / self._steps)
        preview = None
        now = time.monotonic()
        latents = tensors.get("latents")
        if self._previewer is not None and latents is not None and now - self._last_preview >= self._interval:
            preview = self._previewer.png(latents)
            self._last_preview = now
        self._progress(fraction, f"{self._label}: step {self.completed}/{self._steps}", preview)
        return tensors
