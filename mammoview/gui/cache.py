"""A byte-bounded LRU cache for computed views.

Enhancements are pure functions of ``(image uid, view name, params)``: the window keys
each result on that tuple so that switching a parameter back, or returning to an image,
shows the earlier result at once instead of recomputing it. The bound is in bytes, not
entries, because one super-resolved full-field mammogram can weigh hundreds of MB while
a MIAS CLAHE view weighs 4 MB.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

DEFAULT_MAX_BYTES = 768 * 1024 * 1024


def estimate_bytes(value: Any) -> int:
    """Rough memory held by ``value``: array buffers counted exactly, the rest shallowly.

    Parameters
    ----------
    value : Any
        A NumPy array, an object with an integer ``nbytes`` (the viewer's prepared
        content), an object with an ``array`` attribute (an enhanced view), or a
        tuple/list of those.

    Returns
    -------
    int
        Bytes, never less than 1 so that every entry counts against the bound.
    """
    if isinstance(value, np.ndarray):
        return max(1, value.nbytes)
    own = getattr(value, "nbytes", None)  # objects that count their own arrays
    if isinstance(own, int):
        return max(1, own)
    if isinstance(value, (tuple, list)):
        return max(1, sum(estimate_bytes(v) for v in value))
    array = getattr(value, "array", None)
    if isinstance(array, np.ndarray):
        return max(1, array.nbytes)
    pixels = getattr(value, "pixels", None)
    if isinstance(pixels, np.ndarray):
        return max(1, pixels.nbytes)
    return max(1, sys.getsizeof(value))


class ViewCache:
    """Least-recently-used mapping bounded by the total bytes of its values.

    Thread-safe: workers may look results up while the UI thread stores them.

    Parameters
    ----------
    max_bytes : int
        Upper bound on the sum of :func:`estimate_bytes` over the stored values. A
        single value larger than the bound is not stored at all.

    Examples
    --------
    >>> cache = ViewCache(max_bytes=100)
    >>> cache.put(("uid", "clahe", 1), np.zeros(10, np.uint8))
    True
    >>> cache.get(("uid", "clahe", 1)).shape
    (10,)
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value for ``key`` (marking it most recently used), else ``default``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return default
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> bool:
        """Store ``value``; evict the least recently used entries to stay under the bound.

        Returns
        -------
        bool
            False when the value alone exceeds ``max_bytes`` and was not stored.
        """
        size = estimate_bytes(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return False
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted
            return True

    def discard_where(self, predicate) -> int:
        """Remove every entry whose key satisfies ``predicate``; return how many."""
        with self._lock:
            doomed = [k for k in self._items if predicate(k)]
            for key in doomed:
                self._bytes -= self._items.pop(key)[1]
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
