"""The window's view cache: LRU bounded by bytes, keyed (uid, view, params)."""

from __future__ import annotations

import numpy as np

from mammoview.enhance.params import ClaheParams
from mammoview.gui.cache import ViewCache


def test_evicts_least_recently_used_by_bytes():
    cache = ViewCache(max_bytes=3 * 1000)
    for i in range(3):
        cache.put(("img", "clahe", ClaheParams(tiles=i + 1)), np.zeros(1000, np.uint8))
    cache.get(("img", "clahe", ClaheParams(tiles=1)))  # now the most recent
    cache.put(("img", "wavelet", None), np.zeros(1000, np.uint8))
    assert ("img", "clahe", ClaheParams(tiles=1)) in cache
    assert ("img", "clahe", ClaheParams(tiles=2)) not in cache  # oldest unused went
    assert cache.nbytes == 3000 and len(cache) == 3


def test_too_large_value_is_not_stored_and_keys_compare_by_params():
    cache = ViewCache(max_bytes=100)
    assert cache.put("big", np.zeros(101, np.uint8)) is False
    assert "big" not in cache and cache.nbytes == 0
    cache.put(("u", "clahe", ClaheParams(tiles=4)), np.ones(10, np.uint8))
    assert cache.get(("u", "clahe", ClaheParams(tiles=4))) is not None  # equal, not identical
    assert cache.get(("u", "clahe", ClaheParams(tiles=5))) is None
