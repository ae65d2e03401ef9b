"""Running the event loop: uvloop where it is installed (it comes with uvicorn[standard]).

uvloop runs asyncio's scheduling, sockets and thread hand-overs in C; the orchestrator
spends much of its time there (every RPC and every database hop crosses the loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
