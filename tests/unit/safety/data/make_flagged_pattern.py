"""How flagged_pattern.png was made: SPSA ascent of the classifier's log-odds over a 16 x 16 RGB
pattern (bilinearly upscaled to 256 px), from skin-toned noise; ≈ 700 iterations, under a minute
on one core. Run: python tests/unit/safety/data/make_flagged_pattern.py OUT.png"""

from __future__ import annotations

import sys

import numpy as np
import numpy.typing as npt
from PIL import Image

from assetcore.safety.image_check import classifier

SIDE, STEPS, PROBE, RATE = 16, 2000, 20.0, 600.0


def log_odds(pattern: npt.NDArray[np.float64]) -> tuple[float, float]:
    image = Image.fromarray(np.clip(pattern, 0, 255).astype(np.uint8)).resize(
        (256, 256), Image.Resampling.BILINEAR
    )
    p = classifier().classify(image).nsfw
    return float(np.log(p + 1e-6) - np.log(1 - p + 1e-6)), p


def main(out: str) -> None:
    rng = np.random.default_rng(1)
    x = np.tile(np.array([220.0, 160.0, 130.0]), (SIDE, SIDE, 1)) + rng.normal(0, 30, (SIDE, SIDE, 3))
    for step in range(STEPS):
        d = rng.choice([-1.0, 1.0], x.shape)
        gradient = (log_odds(x + PROBE * d)[0] - log_odds(x - PROBE * d)[0]) / (2 * PROBE) * d
        x = np.clip(x + RATE * gradient / (1 + step / 500), 0, 255)
        if step % 50 == 0 and log_odds(x)[1] > 0.95:
            break
    Image.fromarray(np.clip(x, 0, 255).astype(np.uint8)).save(out)


if __name__ == "__main__":
    main(sys.argv[1])
