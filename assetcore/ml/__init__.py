"""What the ML backends share: torch placement and seeding, progress through denoising loops,
latent previews, and the torchvision import fix. Imported only by ML backends (the `ml` extra)."""
