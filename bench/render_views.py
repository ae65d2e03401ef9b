"""Turnaround sheets of finished assets: front, left, back and right views of LOD0, side by side.

The issue's acceptance asks for the knight, the wolf and the chest seen from the back; a sheet
puts the back beside the front so a printed-through front is obvious at a glance. Rendering is
the product's own software preview renderer (textured, Lambert-shaded, orthographic).

Usage: python bench/render_views.py ASSET.glb OUT.png [--size 384]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assetcore.geometry.gltf import read_glb  # noqa: E402
from assetcore.geometry.preview import render_mesh_preview  # noqa: E402

VIEWS = (("front", 0.0), ("left", 90.0), ("back", 180.0), ("right", 270.0))
PITCH_DEG = 8.0
BACKDROP = (236, 236, 236, 255)
LABEL = (60, 60, 60, 255)


def turnaround(glb: bytes, size: int = 384) -> Image.Image:
    """One row of the four views, labelled, on a light backdrop."""
    mesh = read_glb(glb).mesh
    sheet = Image.new("RGBA", (size * len(VIEWS), size + 24), BACKDROP)
    draw = ImageDraw.Draw(sheet)
    for i, (name, yaw) in enumerate(VIEWS):
        png = render_mesh_preview(mesh, size, yaw_deg=yaw, pitch_deg=PITCH_DEG)
        with Image.open(io.BytesIO(png)) as view:
            sheet.alpha_composite(view.convert("RGBA"), (i * size, 24))
        draw.text((i * size + 8, 6), name, fill=LABEL)
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("glb", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=384)
    args = parser.parse_args()
    turnaround(args.glb.read_bytes(), args.size).convert("RGB").save(args.out, optimize=True)


if __name__ == "__main__":
    main()
