"""SHA-256 of files, read in chunks (input files can be gigabytes); the stamp that tells whether a file is still
the one a digest was taken of; and the hashing of input files in a child process, started as soon as their
paths are known.

`bhm compute` starts it before it imports Polars and the engine: the ~1.6 CPU s that 2.4 GB of Parquet cost run
on the core the single-threaded start-up leaves idle, then at the lowest priority beside the scan. A process,
not a thread: a hashing thread needs the GIL between chunks, and got half a core while the imports held it.

Light on purpose (standard library only): the command line imports it first."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

Stamp = dict[str, int | str]
# by absolute path: a file's stamp when an earlier run hashed it, and that digest
KnownDigests = dict[str, tuple[Stamp, str]]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def file_stamp(path: Path) -> Stamp:
    """The file's absolute path, size, modification and status-change times, inode and device. Writing a file
    changes its status-change time, which no user can set back, so a file whose stamp is unchanged holds what it
    held when the stamp was taken (the rule git and make rely on)."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino, "device": st.st_dev}


def previous_input_digests(out: Path) -> KnownDigests:
    """Per input file an earlier run into `out` read (by absolute path): its stamp then and its sha256. Empty
    when the folder holds no readable manifest: every file is then hashed."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {str(f["stamp"]["path"]): (f["stamp"], f["sha256"]) for f in manifest.get("inputs", [])
                if isinstance(f, dict) and isinstance(f.get("stamp"), dict) and isinstance(f.get("sha256"), str)
                and "path" in f["stamp"]}
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return {}


class HashingCancelled(Exception):
    """The run that wanted the digest ended first (an error, Ctrl-C)."""


@dataclass(eq=False)
class _Job:
    """Some files hashed by one child (None: none could be started)."""

    proc: subprocess.Popen[str] | None
    cancelled: threading.Event = field(default_factory=threading.Event)


_lock = threading.Lock()
_started: dict[str, tuple[Stamp, Future[str]]] = {}  # by absolute path: hashes started ahead of `digest_of`
_jobs: set[_Job] = set()  # still hashing


# The child: the lowest priority, silent on Ctrl-C (the terminal interrupts it with the run), one line per file
# in order ("<index> <sha256>", or "<index> ! <why>"). Python isolated and without site: hashlib is all it needs.
_CHILD = """
import hashlib, os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
sys.stdout.reconfigure(errors="replace")
try:
    os.nice(19)
except (AttributeError, OSError):
    pass
for i, path in enumerate(sys.argv[1:]):
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
        print(i, h.hexdigest(), flush=True)
    except OSError as e:
        print(i, "!", e.strerror or type(e).__name__, flush=True)
"""


def _hash_in_child(paths: list[Path]) -> list[Future[str]]:
    """The files' digests, taken by a child process; a thread here hands them over as they come. A file the child
    could not read fails its future with the child's reason; if the child itself fails (no Python to start, a
    kill not ours), the thread hashes what is left itself."""
    futures: list[Future[str]] = [Future() for _ in paths]
    proc: subprocess.Popen[str] | None = None
    try:
        if not getattr(sys, "frozen", False):  # a frozen app's executable is the app itself, not a Python
            proc = subprocess.Popen(  # noqa: S603 - this Python, our code, paths as arguments
                [sys.executable, "-I", "-S", "-c", _CHILD, *map(str, paths)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, errors="replace")
    except OSError:
        pass
    job = _Job(proc)

    def deliver() -> None:
        try:
            if job.proc is not None:
                with job.proc:  # closes the pipe and reaps the child
                    for line in job.proc.stdout or ():
                        index, _, rest = line.rstrip("\n").partition(" ")
                        if not index.isdigit() or int(index) >= len(paths) or futures[int(index)].done():
                            continue  # not a line of ours
                        if rest.startswith("! "):
                            futures[int(index)].set_exception(OSError(f"{paths[int(index)]}: {rest[2:]}"))
                        elif len(rest) == 64:
                            futures[int(index)].set_result(rest)
            for path, future in zip(paths, futures, strict=True):
                if future.done():
                    continue
                if job.cancelled.is_set():
                    future.set_exception(HashingCancelled(str(path)))
                    continue
                try:
                    future.set_result(sha256_file(path))
                except OSError as e:
                    future.set_exception(e)
        except BaseException as e:  # noqa: BLE001 - whoever waits for a digest gets the failure, never a hang
            for future in futures:
                if not future.done():
                    future.set_exception(e)
        finally:
            _jobs.discard(job)

    _jobs.add(job)
    threading.Thread(target=deliver, name="bhm-sha256", daemon=True).start()
    return futures


def start_hashing(paths: Iterable[Path], known: KnownDigests) -> None:
    """Begin hashing these files in a child process, except those `known` holds with their current stamp and
    those started already. Each is handed to the next `digest_of` of the same file with the same stamp."""
    with _lock:
        todo: list[tuple[Path, Stamp]] = []
        for path in paths:
            stamp = file_stamp(path)
            key = str(stamp["path"])
            if not (key in known and known[key][0] == stamp) and not (key in _started and _started[key][0] == stamp):
                todo.append((path, stamp))
        if todo:
            for (_, stamp), future in zip(todo, _hash_in_child([p for p, _ in todo]), strict=True):
                _started[str(stamp["path"])] = (stamp, future)


def digest_of(path: Path, known: KnownDigests) -> tuple[Stamp, Future[str] | str]:
    """The file's stamp, taken now, and its digest: the known one while the stamp is unchanged, else the hash
    started ahead for this very stamp (once: another run hashes again, as runs always have), else one started
    now. A file written meanwhile has another stamp, and is hashed again now and on the next run."""
    stamp = file_stamp(path)
    key = str(stamp["path"])
    if key in known and known[key][0] == stamp:
        return stamp, known[key][1]
    with _lock:
        ahead = _started.pop(key, None)
        if ahead is not None and ahead[0] == stamp:
            return stamp, ahead[1]
        return stamp, _hash_in_child([path])[0]


def cancel_pending_hashes() -> None:
    """Stop hashing for a run that will not write its manifest (an error, Ctrl-C), so the process exits at once."""
    with _lock:
        _started.clear()
        for job in list(_jobs):
            job.cancelled.set()
            if job.proc is not None:
                job.proc.kill()
