"""TripoSR (Tripo AI / Stability AI, MIT weights): single image -> triplane NeRF -> mesh.

Our own implementation of the published architecture; the checkpoint (config.yaml +
model.ckpt) loads unchanged, its transformers-4.x ViT key names remapped on load.
"""
