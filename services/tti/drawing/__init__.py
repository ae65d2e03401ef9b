"""The procedural concept-image renderer: figures built from polygons, rasterised and shaded."""
