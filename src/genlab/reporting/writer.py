"""Writing pictures off the training thread (config field ``async_writes``).

Pictures are prepared synchronously (the grid tensor, the curve data: nothing
that training changes later is read afterwards) and encoded and written by one
background thread, so PNG encoding and plotting do not stall the GPU. The loop
waits for pending writes at the end of training and before it reports an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

_current: AsyncWriter | None = None


class AsyncWriter:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genlab-writer")
        self._pending: list[Future] = []

    def submit(self, fn: Callable[[], object]) -> None:
        self._pending = [f for f in self._pending if not f.done() or f.exception() is not None]
        self._pending.append(self._executor.submit(fn))

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()  # re-raises a failed write here, on the training thread

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._executor.shutdown(wait=True)


def write(fn: Callable[[], object]) -> None:
    """Run ``fn`` now, or on the background writer while one is active."""
    if _current is None:
        fn()
    else:
        _current.submit(fn)


@contextlib.contextmanager
def background_writes(enabled: bool) -> Iterator[None]:
    global _current
    if not enabled:
        yield
        return
    writer, previous = AsyncWriter(), _current
    _current = writer
    try:
        yield
    finally:
        _current = previous
        writer.close()
