"""Image processing off the server's process, bounded and at low priority.

Decoding and re-encoding a phone photo costs ~0.3 s of CPU (bench/README.md, "Images").
On the upload request's own thread, twenty at once shared the core with the event loop
as equals and the ack p99 of a busy room went to ~640 ms. Here the work goes to a pool of
worker processes that

- are few: ``CHAT_IMAGE_WORKERS`` per server process (default 1), so memory stays bounded
  (~100 MB per 12-megapixel image in flight, Pillow's 40-megapixel bound checked from the
  header before any pixel is decoded);
- run at a lower priority: ``os.nice(NICE)`` in each worker's initializer, so the kernel
  gives the chat's process the core whenever it wants it, and processing the rest;
- start clean: a ``spawn`` context (a fork of a threaded server process is unsafe), and
  only Pillow and ``images.processing`` are imported in them, never Django.

Uploads beyond the workers wait their turn; at most ``CHAT_IMAGE_QUEUE`` wait (a process),
each at most ``WAIT_SECONDS``; past either, 503 ``unavailable`` with ``Retry-After`` and
nothing stored. A worker that dies (killed, out of memory) breaks the pool: it is replaced
by a fresh one, and the image that was in flight is tried once more on it; a second
breakage answers 503 ``unavailable``. The caller, waiting on its own thread (the upload's,
``chatsite.uploads``), stores nothing until a ``Processed`` is back.
"""

from __future__ import annotations

import math
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from chatsite.foundation.errors import ChatError, TooLarge, Unavailable, UnsupportedMedia
from images import processing
from images.processing import Processed, Refused

NICE = 19  # the lowest priority: when the server wants the core, a worker gets ~1/70 of it
WAIT_SECONDS = 60.0
RETRY_AFTER = 5  # seconds, with a 503: a few images' processing


class ImagePool:
    """A bounded, niced process pool with a bounded wait in front of it (see the module)."""

    def __init__(self, *, workers: int, queue: int, nice: int = NICE) -> None:
        self.workers, self.queue, self.nice = workers, queue, nice
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self._executor: ProcessPoolExecutor | None = None

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=processing.worker_start,
                    initargs=(self.nice,),
                )
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (for tests and ``/metrics``-style looks)."""
        executor = self._executor
        processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
        return [p.pid for p in processes.values() if p.is_alive()]

    def busy(self) -> bool:
        """Every worker is taken and every wait place too: a new upload would be refused."""
        return self._running >= self.workers and self._waiting >= self.queue

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker, after waiting for a free one (see the module)."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise image_pool_busy()
                self._waiting += 1
            try:
                if not self._slots.acquire(timeout=WAIT_SECONDS):
                    raise image_pool_busy()
            finally:
                with self._lock:
                    self._waiting -= 1
        with self._lock:
            self._running += 1
        try:
            for attempt in (1, 2):
                executor = self.executor()
                try:
                    return executor.submit(fn, *args).result()
                except BrokenProcessPool:
                    self._replace(executor)
                    if attempt == 2:
                        raise Unavailable(
                            gettext("Processing stopped before this image was done; try again."),
                            retry_after=RETRY_AFTER,
                        ) from None
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def image_pool_busy() -> Unavailable:
    return Unavailable(
        gettext("Too many images are being processed; try again shortly."),
        retry_after=RETRY_AFTER,
    )


_pool: ImagePool | None = None
_pool_lock = threading.Lock()


def image_pool() -> ImagePool:
    """This process's pool, made on first use with ``CHAT_IMAGE_WORKERS``/``CHAT_IMAGE_QUEUE``."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ImagePool(
                workers=settings.CHAT["IMAGE_WORKERS"], queue=settings.CHAT["IMAGE_QUEUE"]
            )
        return _pool


def image_process_pooled(*, source: str | bytes, max_pixels: int) -> Processed:
    """``images.processing.image_process`` in a pool worker; its refusals as wire errors."""
    try:
        processed: Processed = image_pool().run(processing.image_work, source, max_pixels)
    except Refused as refused:
        raise refusal_error(refused, max_pixels=max_pixels) from None
    return processed


def refusal_error(refused: Refused, *, max_pixels: int) -> ChatError:
    if refused.kind == Refused.TOO_LARGE and refused.size:
        width, height = refused.size
        return TooLarge(
            gettext("An image has at most %(most)d megapixels (this one %(width)dx%(height)d).")
            % {"most": math.floor(max_pixels / 1_000_000), "width": width, "height": height}
        )
    if refused.kind == Refused.DAMAGED:
        return UnsupportedMedia(gettext("That image is damaged or incomplete."))
    return UnsupportedMedia()
