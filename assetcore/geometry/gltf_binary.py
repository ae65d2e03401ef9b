"""The BIN chunk under construction: buffer views and the accessors that describe them."""

from __future__ import annotations

from typing import Any

import numpy as np

from assetcore.geometry.gltf_constants import COMPONENT_TYPES, TYPE_NAMES


class BinaryBuilder:
    """Appends 4-byte-aligned buffer views to buffer 0 and records accessors over them."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._length = 0
        self.buffer_views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def add_view(self, data: bytes, target: int | None = None) -> int:
        padding = -self._length % 4
        if padding:
            self._parts.append(b"\0" * padding)
            self._length += padding
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self._length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self._parts.append(data)
        self._length += len(data)
        self.buffer_views.append(view)
        return len(self.buffer_views) - 1

    def add_accessor(
        self,
        array: np.ndarray[Any, Any],
        *,
        target: int | None = None,
        normalized: bool = False,
        bounds: bool = False,
    ) -> int:
        """An accessor over a new view holding `array` ((N,) or (N, k)) in its own dtype."""
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        accessor = self.describe(array, normalized=normalized, bounds=bounds)
        accessor["bufferView"] = self.add_view(array.tobytes(), target)
        return self.add_described(accessor)

    def add_described(self, accessor: dict[str, Any]) -> int:
        self.accessors.append(accessor)
        return len(self.accessors) - 1

    @staticmethod
    def describe(
        array: np.ndarray[Any, Any], *, normalized: bool = False, bounds: bool = False
    ) -> dict[str, Any]:
        """An accessor's type fields for `array`, without a buffer view (Draco attributes use it as is)."""
        components = 1 if array.ndim == 1 else int(array.shape[1])
        accessor: dict[str, Any] = {
            "componentType": COMPONENT_TYPES[array.dtype.newbyteorder("<")],
            "count": int(array.shape[0]),
            "type": TYPE_NAMES[components],
        }
        if normalized:
            accessor["normalized"] = True
        if bounds:
            columns = array.reshape(len(array), components)
            accessor["min"] = columns.min(axis=0).tolist()
            accessor["max"] = columns.max(axis=0).tolist()
        return accessor

    def data(self) -> bytes:
        return b"".join(self._parts)
