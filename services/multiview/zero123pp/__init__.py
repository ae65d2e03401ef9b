"""Zero123++ v1.2 written on diffusers' components: loading, reference attention, sampling.

Importing the package first makes torchvision importable (assetcore/ml/torchvision_compat.py):
diffusers pulls in peft and transformers, which import it.
"""

from assetcore.ml.torchvision_compat import ensure_torchvision_importable

ensure_torchvision_importable()
