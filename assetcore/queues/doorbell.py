"""Cross-process wake-ups for the consumers of one SQLite queue file.

Consumers in other processes (`assetcore up`: one process per step) would otherwise learn
of a new message only at their next poll. Each process that consumes the queue binds a Unix
datagram socket in a directory named after the queue file; a sender rings every socket
there after it commits a message. A ring carries no data, it only says "look now"; a lost
one costs one poll interval. Sockets of dead processes are removed by the first sender that
finds them refusing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PEERS_TTL_S = 1.0


def bell_directory(database: str) -> Path:
    """Short (Unix socket paths are limited to ~100 bytes) and the same for every process."""
    digest = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"assetcore-bell-{digest}"


class Doorbell:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._listener: socket.socket | None = None
        self._path: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._peers: list[str] = []
        self._peers_at = 0.0

    def listen(self, on_ring: Callable[[], None]) -> None:
        """Call on_ring (in the running loop) whenever another process rings."""
        if self._listener is not None:
            return
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._path = self._directory / f"{os.getpid()}-{id(self):x}.sock"
        self._path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setblocking(False)
        listener.bind(str(self._path))
        self._listener = listener
        self._loop = asyncio.get_running_loop()

        def drain() -> None:
            with contextlib.suppress(BlockingIOError):
                while listener.recv(64):
                    pass
            on_ring()

        self._loop.add_reader(listener.fileno(), drain)

    def ring(self) -> None:
        """Wake every other listening process; never blocks, never fails the caller."""
        now = time.monotonic()
        if now - self._peers_at > PEERS_TTL_S:
            self._peers_at = now
            with contextlib.suppress(FileNotFoundError):
                self._peers = [str(p) for p in self._directory.glob("*.sock") if p != self._path]
        for peer in list(self._peers):
            try:
                self._sender.sendto(b"!", peer)
            except BlockingIOError:
                pass  # its buffer is full of rings already
            except (ConnectionRefusedError, FileNotFoundError):
                self._peers.remove(peer)
                with contextlib.suppress(OSError):
                    os.unlink(peer)  # a process that died without closing
            except OSError:
                pass

    def close(self) -> None:
        if self._listener is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._sender.close()
