"""Headless Blender (bpy) for the `blender` backends, in a child process of its own.

bpy must run in the main thread of its process (operators from other threads crash it), and
Blender can segfault on a hostile mesh. So every blender backend sends its work to one
long-lived child process that owns bpy: a crash costs that call, never the step service.

A call names a module-level function by import path; it runs in the child's main thread on
an empty scene with `report(fraction, message)` for progress, and returns picklable data
(GLB bytes, numbers). Raising `StepError` in the child reaches the caller unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assetcore.steps.contract import PythonModule
from assetcore.worker.backend import ErrorCode, StepCancelled, StepError

ProgressFn = Callable[[float, str], None]
BPY = PythonModule("bpy", "Blender (bpy)")  # what the blender backends and FBX export require


def blender_home(data_dir: Path) -> Path:
    return (data_dir / "blender").resolve()


def bpy_available() -> bool:
    return importlib.util.find_spec("bpy") is not None


def _child_main(conn: Connection, home: str) -> None:
    os.environ["BLENDER_USER_RESOURCES"] = home
    os.environ["XDG_CACHE_HOME"] = os.path.join(home, "cache")
    import bpy

    def report(fraction: float, message: str = "") -> None:
        conn.send(("progress", (float(fraction), message)))

    conn.send(("ready", bpy.app.version_string))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        module_name, func_name, args = request
        try:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            func = getattr(importlib.import_module(module_name), func_name)
            conn.send(("result", func(*args, report=report)))
        except StepError as exc:
            conn.send(("error", (exc.code, exc.message)))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(exc)).strip()
            conn.send(("error", (ErrorCode.INTERNAL, f"blender: {detail}")))


class BlenderProcess:
    """One bpy child process, started on first use and restarted after a crash or timeout."""

    def __init__(self, home: Path, start_timeout_s: float = 120.0) -> None:
        self._home = home
        self._start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self.version = ""

    def start(self) -> str:
        """Start the child (if needed) and return Blender's version. Idempotent."""
        with self._lock:
            return self._ensure_started()

    def _ensure_started(self) -> str:
        if self._proc is not None and self._proc.is_alive():
            return self.version
        if not bpy_available():
            raise StepError(
                ErrorCode.BACKEND_UNAVAILABLE, "bpy is not installed (pip install 'assetcore[blender]')"
            )
        self._home.mkdir(parents=True, exist_ok=True)
        ctx = mp.get_context("spawn")  # never fork a process that runs gRPC threads
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child_main, args=(child, str(self._home)), daemon=True, name="bpy")
        proc.start()
        child.close()
        if not parent.poll(self._start_timeout_s):
            proc.kill()
            raise StepError(ErrorCode.BACKEND_UNAVAILABLE, "blender did not start in time")
        _ready, payload = parent.recv()
        self._proc, self._conn, self.version = proc, parent, str(payload)
        return self.version

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        self._proc, self._conn = None, None

    def call(
        self,
        func: Callable[..., Any],
        *args: Any,
        progress: ProgressFn | None = None,
        timeout_s: float = 600.0,
    ) -> Any:
        """Run `func(*args, report=...)` in the child. StepCancelled from `progress` kills the call."""
        with self._lock:
            self._ensure_started()
            assert self._conn is not None
            conn = self._conn
            conn.send((func.__module__, func.__qualname__, args))
            deadline = time.monotonic() + timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not conn.poll(remaining):
                    self._kill()
                    raise StepError(
                        ErrorCode.TIMEOUT, f"blender call {func.__qualname__} exceeded {timeout_s:.0f}s"
                    )
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    self._kill()
                    raise StepError(
                        ErrorCode.INTERNAL, f"blender crashed during {func.__qualname__}", retryable=True
                    ) from None
                if kind == "progress":
                    if progress is not None:
                        try:
                            progress(*payload)
                        except StepCancelled:
                            self._kill()
                            raise
                elif kind == "result":
                    return payload
                else:
                    code, message = payload
                    raise StepError(code, message)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            if self._proc is not None:
                self._proc.join(5)
                if self._proc.is_alive():
                    self._proc.kill()
            self._proc, self._conn = None, None


_shared: BlenderProcess | None = None
_shared_lock = threading.Lock()


def shared_blender() -> BlenderProcess:
    """The process-wide Blender child every blender backend of this process shares."""
    global _shared
    with _shared_lock:
        if _shared is None:
            from assetcore.config import get_settings

            _shared = BlenderProcess(blender_home(get_settings().data_dir))
        return _shared
