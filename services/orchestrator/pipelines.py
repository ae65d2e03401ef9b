"""The standard pipeline templates (registered under the `assetcore.pipelines` entry point).

Pipelines are data: the catalog (assetcore.steps.catalog) checks them against the declared
steps, and plugins add more.
"""

from __future__ import annotations

from assetcore.proto.v1 import job_pb2
from assetcore.steps.pipeline import Pipeline, chain

STANDARD = (
    Pipeline(
        "character",
        "Rigged, animated character: concept image to engine-ready GLB/FBX",
        job_pb2.ASSET_TYPE_CHARACTER,
        chain("tti", "refine", "image3d", "retopo", "rig", "anim", "export"),
    ),
    Pipeline(
        "prop",
        "Static prop: concept image to a textured low-poly mesh with LODs",
        job_pb2.ASSET_TYPE_PROP,
        chain("tti", "refine", "image3d", "retopo", "export"),
    ),
    # With six generated views between the concept and the mesh: image3d textures the back
    # and sides from real views. Needs a multiview backend with models (zero123pp).
    Pipeline(
        "character_multiview",
        "Rigged, animated character, reconstructed and textured from six generated views",
        job_pb2.ASSET_TYPE_CHARACTER,
        chain("tti", "refine", "multiview", "image3d", "retopo", "rig", "anim", "export"),
    ),
    Pipeline(
        "prop_multiview",
        "Static prop, reconstructed and textured from six generated views",
        job_pb2.ASSET_TYPE_PROP,
        chain("tti", "refine", "multiview", "image3d", "retopo", "export"),
    ),
    Pipeline(
        "concept",
        "Concept image only",
        job_pb2.ASSET_TYPE_CONCEPT,
        chain("tti", "refine"),
    ),
)
