"""Reading and writing ``.npz`` archives with user-facing errors (shared by every file format)."""
from __future__ import annotations

import os
import zipfile

import numpy as np

from .errors import EventsimError


def read_npz(path, what: str) -> dict:
    """All arrays of an ``.npz`` file; ``what`` names the file in errors (e.g. "model file")."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise EventsimError(f"{what} {path!r} does not exist")
    if os.path.isfile(path) and not zipfile.is_zipfile(path):  # numpy would blame "pickled data"
        with open(path, "rb") as f:
            head = f.read(8)
        kind = " (it is an HDF5 file, e.g. a NIR graph or NIR data)" if head.startswith(b"\x89HDF") else ""
        raise EventsimError(f"{what} {path!r} is not a .npz archive (a zip of arrays){kind}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # not a zip, truncated, pickled object arrays ...
        raise EventsimError(f"{what} {path!r} is not a readable .npz archive ({e})") from None


def write_npz(path, arrays: dict) -> None:
    """Write ``arrays`` to exactly ``path`` (np.savez would append .npz to another suffix).

    Atomic (a temporary file in the same folder, renamed into place) with the user's
    normal permissions: see :mod:`eventsim.outputs`.
    """
    from .outputs import atomic_write

    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def write_npy(path, array) -> None:
    """Write one array to exactly ``path`` as ``.npy``, atomically (see :func:`write_npz`)."""
    from .outputs import atomic_write

    with atomic_write(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
