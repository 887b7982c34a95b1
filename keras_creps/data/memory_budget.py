"""Parallel file work under a memory budget: many small files at once, large ones a few at a time."""

import concurrent.futures
import contextlib
import threading

__all__ = ["DEFAULT_BUDGET_BYTES", "MemoryBudget", "parallel_map"]

# What the inspecting threads may hold together (file bytes, decoded pixels).
DEFAULT_BUDGET_BYTES = 1 << 30


class MemoryBudget:
    """Bytes that threads reserve before working and give back after.

    A reservation waits until it fits beside the others; one larger than the
    whole budget runs alone (the file limits cap what that can be).

    Args:
        total: int. Bytes to share. Defaults to 1 GiB.

    Example:
    ```python
    budget = MemoryBudget()
    with budget.reserve(file_size):
        data = read(name)
    ```
    """

    def __init__(self, total=DEFAULT_BUDGET_BYTES):
        self.total = total
        self._used = 0
        self._ready = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, nbytes):
        with self._ready:
            self._ready.wait_for(lambda: self._used == 0 or self._used + nbytes <= self.total)
            self._used += nbytes
        try:
            yield
        finally:
            with self._ready:
                self._used -= nbytes
                self._ready.notify_all()


def parallel_map(function, items, threads):
    """`[function(item) for item in items]`, run in up to `threads` threads, results in order."""
    items = list(items)
    if len(items) < 8 or threads <= 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(function, items))
