"""Where torch runs: the one place that picks CUDA, MPS or the CPU."""

from __future__ import annotations

from mammoview.core.errors import MammoViewError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def choose_device(preference: str = "auto"):
    """The torch device to run on.

    Parameters
    ----------
    preference : {"auto", "cpu", "cuda", "mps"}
        "auto" takes CUDA, then Apple MPS, then the CPU. A named device is used as
        asked, or refused when this machine does not have it.

    Returns
    -------
    torch.device

    Raises
    ------
    MammoViewError
        An unknown preference, or "cuda"/"mps" asked for and not available.

    Examples
    --------
    >>> choose_device("cpu").type
    'cpu'
    """
    import torch

    pref = (preference or "auto").strip().lower()
    if pref not in DEVICE_CHOICES:
        raise MammoViewError(f"unknown device {preference!r} (choose from {', '.join(DEVICE_CHOICES)})")
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda":
        if not torch.cuda.is_available():
            raise MammoViewError("device 'cuda' asked for, but no CUDA GPU is available here (use --device cpu or auto)")
        return torch.device("cuda")
    if pref == "mps":
        if not _mps_available(torch):
            raise MammoViewError("device 'mps' asked for, but Apple MPS is not available here (use --device cpu or auto)")
        return torch.device("mps")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
