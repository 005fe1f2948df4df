"""The one rule for every file a command writes (docs/commands.md, "Outputs, errors and exit codes").

Before any work, :func:`check_outputs` checks every output path a command was given:

- the path is not a folder and not a special file (device, pipe);
- a missing parent folder is allowed: it is created (as ``mkdir -p``) when the file is
  written, so the nearest existing ancestor must be a writable folder;
- an existing file must be writable (a read-only file is not replaced behind the user's back);
- the path is not the same file as any input of the command (same path, symbolic link or
  hard link), nor the same as another output of the same command. No option overrides this.

Then every writer goes through :func:`atomic_write` (a file object) or :func:`atomic_path`
(a path for writers that take a file name, e.g. matplotlib, safetensors): the data goes to
a hidden temporary file ``.<name>.<random>.tmp`` (for :func:`atomic_path`, ending in
the target's extension) in the target's folder and is renamed onto the target
only once complete, so a failure or Ctrl-C leaves either the old file or the new one, never
half a file and no temporary file. The new file gets the user's normal permissions
(``0o666`` minus the umask; an existing file keeps its mode) instead of ``mkstemp``'s 0600.
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager

from .errors import EventsimError


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)  # no portable way to read it without setting it
    os.umask(old)
    return old


def normal_mode(path=None) -> int:
    """The mode a new file gets from ``open()``: ``0o666 & ~umask``; an existing ``path`` keeps its own."""
    if path is not None:
        try:
            st = os.stat(path)
            if stat.S_ISREG(st.st_mode):
                return stat.S_IMODE(st.st_mode)
        except OSError:
            pass
    return 0o666 & ~_umask()


def _same(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path, option: str = "output") -> str:
    """Check one output path (see the module docstring); returns it as a string."""
    if path is None:
        return path
    path = os.fspath(path)
    if not path or path.endswith(os.sep) or path.endswith("/"):
        raise EventsimError(f"{option} {path!r} is not a file name")
    if os.path.isdir(path):
        raise EventsimError(f"{option} {path!r} is a folder; give a file path inside it")
    if os.path.lexists(path):
        real = os.path.realpath(path)
        if os.path.exists(real) and not stat.S_ISREG(os.stat(real).st_mode):
            raise EventsimError(f"{option} {path!r} exists and is not a regular file")
        if os.path.exists(real) and not os.access(real, os.W_OK):
            raise EventsimError(f"{option} {path!r} is read-only; it is not replaced "
                                f"(make it writable or choose another name)")
        parent = os.path.dirname(real)
    else:
        parent = os.path.dirname(os.path.abspath(path))
    anc = parent
    while not os.path.exists(anc):
        up = os.path.dirname(anc)
        if up == anc:
            break
        anc = up
    if not os.path.isdir(anc):
        raise EventsimError(f"{option} {path!r}: {anc!r} is a file, so the folder {parent!r} cannot "
                            f"be created")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise EventsimError(f"{option} {path!r}: cannot write in folder {anc!r} (permission denied)")
    return path


def check_outputs(outputs, inputs=()) -> None:
    """Apply the output rule before any work.

    outputs: ``(option, path)`` pairs, e.g. ``[("--out", args.out)]`` (``None`` paths skipped);
    inputs: ``(option, path)`` pairs of the files the command reads (``None`` or missing
    paths skipped). Raises :class:`EventsimError` naming the option at fault.
    """
    outs = [(o, os.fspath(p)) for o, p in outputs if p is not None]
    ins = [(o, os.fspath(p)) for o, p in inputs if p is not None]
    for i, (opt, path) in enumerate(outs):
        check_output(path, opt)
        for iopt, ipath in ins:
            if _same(path, ipath):
                raise EventsimError(f"{opt} {path!r} is the same file as the input {iopt} {ipath!r}; "
                                    f"writing it would destroy the input: choose another output name")
        for opt2, path2 in outs[:i]:
            if _same(path, path2):
                raise EventsimError(f"{opt} and {opt2} name the same file {path!r}; give each its own name")


def _target(path) -> str:
    path = os.fspath(path)
    return os.path.realpath(path) if os.path.islink(path) else path


@contextmanager
def atomic_path(path, suffix: str | None = None):
    """A temporary path in ``path``'s folder (same extension) to write to; renamed onto
    ``path`` when the block ends without an exception, removed otherwise."""
    target = _target(path)
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(target)
    if suffix is None:
        suffix = os.path.splitext(base)[1] or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, normal_mode(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def atomic_write(path, mode: str = "wb", encoding: str = "utf-8"):
    """``open(path, mode)`` that writes a temporary file and renames it into place (see module doc)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    with atomic_path(path, suffix=".tmp") as tmp:
        kw = {} if mode == "wb" else {"encoding": encoding, "newline": ""}
        with open(tmp, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json(path, data, indent: int = 1) -> None:
    """Write ``data`` as JSON (with a final newline) to ``path`` atomically."""
    import json

    text = json.dumps(data, indent=indent) + "\n"
    write_text(path, text)
