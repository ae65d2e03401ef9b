"""Weights along a chain of bones (the spine, a limb): each point follows the two bones nearest along it.

A wide torso is far from its spine, so bone heat there is weak and smears every spine bone over
the chest about equally (and a four-influence cap then cuts them unevenly between neighbours).
Here a point's place along the chain is the nearest point on it, in bone units u (bone b spans
[b, b + 1]), and its weight moves linearly from one bone's middle to the next one's: at most two
bones, continuous in u, the first and last bones alone beyond their middles.
"""

from __future__ import annotations

import numpy as np

from services.rig.weights import Floats, segment_distances

SHARPNESS = 4.0  # the place along the chain: its bones' closest points averaged by distance^-4


def chain_weights(points: Floats, heads: Floats, tails: Floats) -> Floats:
    """(P, B) weights over the chain's bones, given root first (`heads`, `tails`: (B, 3))."""
    distance, closest = segment_distances(points, heads, tails)
    rows = np.arange(len(points))
    length = np.maximum(np.linalg.norm(tails - heads, axis=1), 1e-12)
    place = np.arange(len(heads)) + np.linalg.norm(closest - heads[None], axis=2) / length[None]
    near = (distance.min(axis=1, keepdims=True) / np.maximum(distance, 1e-12)) ** SHARPNESS
    u = np.sum(near * place, axis=1) / np.sum(near, axis=1) - 0.5  # in bone-middle units
    u = np.clip(u, 0.0, len(heads) - 1.0)
    low = np.minimum(np.floor(u).astype(np.int64), len(heads) - 1)
    high = np.minimum(low + 1, len(heads) - 1)
    weights = np.zeros(distance.shape)
    fraction = u - low
    weights[rows, low] += 1.0 - fraction
    weights[rows, high] += fraction
    return weights
