"""KTX2 (Basis Universal) copies of a glTF document's embedded PNG textures, per KHR_texture_basisu.

The encoder is alktx2, a wheel around Binomial's basisu (the reference Basis Universal encoder,
whose KTX2 writer the Khronos validator accepts). pyktx, libktx's binding, ships only as an sdist
that builds against a prebuilt libktx, which neither PyPI nor Debian 12 provides.

Colour textures (base colour, emissive) become ETC1S in sRGB (BasisLZ supercompression: the
smallest files, fine for albedo); data textures (normal, metallic-roughness, occlusion) become
linear UASTC with Zstandard (ETC1S's block colours bend normals). Every level of the mip chain
is stored: the samplers minify with mipmaps and a GPU cannot generate them for compressed data.

The PNG stays the texture's `source` (the fallback) and the KTX2 image is the extension's
source, so KHR_texture_basisu is in extensionsUsed only: loaders without Basis support
(Blender's importer, assetcore's own reader, the export gate) still read the file, and engines
with it upload the GPU-compressed texture.
"""

from __future__ import annotations

from typing import Any

import alktx2

BASISU = "KHR_texture_basisu"
KTX2_MEDIA_TYPE = "image/ktx2"
COLOUR_SLOTS = ("baseColorTexture", "emissiveTexture")
DATA_SLOTS = ("normalTexture", "occlusionTexture", "metallicRoughnessTexture")
ETC1S_EFFORT = 0  # basisu effort 0..10; higher took 2-3x as long here for no visible gain
UASTC_EFFORT = 1
ZSTD_LEVEL = 10  # UASTC's Zstandard level (basisu's own default for KTX2)


def add_ktx2_textures(document: dict[str, Any], binary: bytes) -> bytes:
    """Give each texture of `document` a KTX2 copy of its PNG; return the grown BIN chunk.

    `document` is changed in place: one image/ktx2 image per PNG image, appended to the buffer,
    and the KHR_texture_basisu extension on each texture that shows it.
    """
    textures: list[dict[str, Any]] = document.get("textures", [])
    if not textures:
        return binary
    linear = _data_only_images(document)
    images: list[dict[str, Any]] = document["images"]
    views: list[dict[str, Any]] = document["bufferViews"]
    grown = bytearray(binary)
    ktx2_of: dict[int, int] = {}
    for texture in textures:
        source = texture["source"]
        if source not in ktx2_of:
            view = views[images[source]["bufferView"]]
            offset = view.get("byteOffset", 0)
            png = binary[offset : offset + view["byteLength"]]
            ktx2 = encode_ktx2(png, linear=source in linear)
            grown += b"\0" * (-len(grown) % 4)
            views.append({"buffer": 0, "byteOffset": len(grown), "byteLength": len(ktx2)})
            grown += ktx2
            images.append({"bufferView": len(views) - 1, "mimeType": KTX2_MEDIA_TYPE})
            ktx2_of[source] = len(images) - 1
        texture.setdefault("extensions", {})[BASISU] = {"source": ktx2_of[source]}
    document["buffers"][0]["byteLength"] = len(grown) + (-len(grown) % 4)
    used = document.get("extensionsUsed", [])
    document["extensionsUsed"] = [*used, BASISU] if BASISU not in used else used
    _move_after_asset(document, "extensionsUsed")
    return bytes(grown)


def encode_ktx2(png: bytes, *, linear: bool) -> bytes:
    """One PNG as a mipmapped KTX2: UASTC + Zstandard when `linear` (data), else ETC1S sRGB.

    One encoder thread: basisu's UASTC output depends on the thread count, and export files are
    reproducible byte for byte.
    """
    if linear:
        return alktx2.encode_bytes_to_ktx2(
            png,
            mime="image/png",
            codec="uastc",
            effort=UASTC_EFFORT,
            srgb=False,
            linear=True,
            mipmaps=True,
            threads=1,
            zstd_supercompression_level=ZSTD_LEVEL,
        )
    return alktx2.encode_bytes_to_ktx2(
        png, mime="image/png", codec="etc1s", effort=ETC1S_EFFORT, srgb=True, mipmaps=True, threads=1
    )


def _data_only_images(document: dict[str, Any]) -> set[int]:
    """Images that only data slots (normal, occlusion, metallic-roughness) show: stored linear."""
    slots: dict[int, set[str]] = {}
    textures = document["textures"]
    for material in document.get("materials", []):
        pbr = material.get("pbrMetallicRoughness", {})
        for slot in COLOUR_SLOTS + DATA_SLOTS:
            info = pbr.get(slot) or material.get(slot)
            if info is not None:
                slots.setdefault(textures[info["index"]]["source"], set()).add(slot)
    return {image for image, used in slots.items() if used <= set(DATA_SLOTS)}


def _move_after_asset(document: dict[str, Any], key: str) -> None:
    """Keep the top-level key order the writer uses (asset, extensionsUsed, ...)."""
    ordered = {"asset": document.pop("asset"), key: document.pop(key), **document}
    document.clear()
    document.update(ordered)
