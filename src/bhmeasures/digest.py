"""SHA-256 of a file, read in chunks (input files can be gigabytes), and the stamp that tells whether a file is
still the one a digest was taken of."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def file_stamp(path: Path) -> dict[str, int | str]:
    """The file's absolute path, size, modification and status-change times, inode and device. Writing a file
    changes its status-change time, which no user can set back, so a file whose stamp is unchanged holds what it
    held when the stamp was taken (the rule git and make rely on)."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino, "device": st.st_dev}
