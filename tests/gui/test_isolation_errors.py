"""What a failed job in a worker process says in the window (Problems dock, status bar)."""

import pytest

from mammoview.gui.isolation import _call_isolated, _unwrap


def _refuse():
    raise ValueError("a 4 x 4 image is too small for 4 db4 wavelet levels (at most 0)")


def _bug():
    raise KeyError("slot")


def test_a_refusal_reads_as_its_reason_and_a_bug_keeps_its_type():
    with pytest.raises(RuntimeError, match=r"^a 4 x 4 image is too small"):
        _unwrap(_call_isolated(_refuse))
    with pytest.raises(RuntimeError, match=r"^KeyError: 'slot'$"):
        _unwrap(_call_isolated(_bug))
