"""Write result files so that a failed or interrupted run leaves earlier results whole, and never touch
files bhm did not write.

Ownership: every folder bhm writes holds a manifest document (manifest.json for compute, payment.json
for pay) whose `outputs` names the files that run wrote. A later run into the folder replaces or removes
only those. A non-empty folder without that document is refused, and so is a file there that has the
name of one bhm would write but is not in the manifest.

Protocol:
1. write every file into a new temporary folder beside the result folder (same file system, so
   renames are atomic), named `.NAME.bhm-tmp-PID-HOST-RANDOM`; Ctrl-C there removes it;
2. under an exclusive lock on the parent folder (concurrent runs into one folder take turns): check
   ownership again, remove temporary folders of runs on this host that died (SIGKILL), then commit.
   A new result folder is the temporary folder renamed, in one step. Into an existing one the files
   are moved, files of the earlier manifest this run does not write (the other format) are removed,
   and the manifest comes last. Ctrl-C waits until these few renames are done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from bhmeasures.digest import sha256_file
from bhmeasures.engine.compute import ComputeResult
from bhmeasures.errors import BhmError, UsageError, shown_path
from bhmeasures.inputs.reader import Inputs
from bhmeasures.spec.loader import LoadedSpec
from bhmeasures.valuesets import ValueSetLibrary

FORMATS = ("parquet", "csv")
TEMP_MARK = ".bhm-tmp-"
OS_METADATA = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # a file manager's, in any folder it shows


class WriteError(BhmError):
    """The system refused to write the results (disk full, permissions changed mid-run)."""


PUBLIC_PROVENANCE = {"public-substitute", "public-vsac", "public-code-system"}


def value_set_origin(provenance: set[str]) -> str:
    """Where a value set's codes came from, for the manifest: the bundled public substitutes, NCQA's licensed
    workbooks (`bhm valuesets import`), or a user's own files."""
    if provenance <= PUBLIC_PROVENANCE:
        return "public-substitute"
    if provenance == {"ncqa-imported"}:
        return "ncqa-imported"
    return "user-supplied"


def _value_set_hash(library: ValueSetLibrary, name: str) -> str:
    vs = library[name]
    rows = sorted(f"{s}|{c}" for s, codes in vs.codes.items() for c in codes)
    rows += sorted(f"{s}|{c}*" for s, codes in vs.prefixes.items() for c in codes)
    return hashlib.sha256("\n".join([vs.name, vs.version, *rows]).encode()).hexdigest()


def build_manifest(
    result: ComputeResult, specs: list[LoadedSpec], library: ValueSetLibrary, inputs: Inputs, year: int,
    engine_version: str,
) -> dict[str, Any]:
    used = sorted({v.name for s in specs for v in s.spec.value_sets})
    return {
        "engine": {"name": "bhmeasures", "version": engine_version, "polars": pl.__version__, "python": platform.python_version()},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "measurement_period": {"year": year, "start": f"{year}-01-01", "end": f"{year}-12-31"},
        "status": "complete" if result.complete else "partial",
        "computed": result.computed,
        "skipped": result.skipped,
        "notes": result.notes,
        "specs": [
            {"id": s.spec.id, "version": s.spec.version, "steward": s.spec.steward, "codes": s.spec.codes,
             "path": str(s.path), "sha256": hashlib.sha256(s.text.encode()).hexdigest()}
            for s in specs
        ],
        "value_sets": [
            {"name": n, "version": library[n].version, "origin": value_set_origin(library[n].provenance),
             "provenance": sorted(library[n].provenance),
             "codes": library[n].size(), "file": str(library[n].file), "sha256": _value_set_hash(library, n)}
            for n in used if n in library
        ],
        "inputs": [
            {"table": f.table, "path": f.path, "rows": f.rows, "sha256": f.sha256,
             **({"stamp": f.stamp} if f.stamp is not None else {})} for f in inputs.files.values()
        ],
        "timings_seconds": {k: round(v, 3) for k, v in result.timings.items()},
    }


# -- which files are bhm's ---------------------------------------------------------------------------
def owned_files(folder: Path, manifest: str, tables: list[str] | None = None) -> set[str] | None:
    """The files an earlier run wrote into `folder`, from its manifest; None when it holds no bhm manifest.

    Manifests written before `outputs` existed are recognised by their content; they own the files a
    run writes (`tables` in either format).
    """
    try:
        doc = json.loads((folder / manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    outputs = doc.get("outputs")
    if isinstance(outputs, list):
        names = {o.get("file") for o in outputs if isinstance(o, dict)}
        return {n for n in names if isinstance(n, str) and n and Path(n).name == n and n not in (".", "..")} | {manifest}
    engine = doc.get("engine")
    legacy = (isinstance(engine, dict) and engine.get("name") == "bhmeasures") or {"program", "entities"} <= doc.keys()
    if not legacy:
        return None
    return {f"{t}.{fmt}" for t in tables or [] for fmt in FORMATS} | {manifest}


def _refusal(out: Path, shown: str, names: list[str], manifest: str, tables: list[str]) -> str | None:
    """Why bhm may not write `names` into the folder `out` (shown to the user as `shown`), or None."""
    if out.exists():
        if not out.is_dir():
            return f"{shown} is a file; --out needs a folder (a new one, or one bhm wrote before)."
        writable = [out, out.parent]
    else:
        ancestor = out.parent
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"cannot create the result folder {shown}: {shown_path(ancestor)} is a file, not a folder."
        writable = [ancestor]
    for folder in writable:
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"cannot write the result folder {shown}: {shown_path(folder)} is not writable; choose another --out."
    present = sorted(p.name for p in out.iterdir() if p.name not in OS_METADATA) if out.exists() else []
    if not present:
        return None
    owned = owned_files(out, manifest, tables)
    if owned is None:
        listed = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        return (f"{shown} holds files bhm did not write ({listed}) and no {manifest} of an earlier bhm run; bhm "
                "writes only into a new or empty folder or one it wrote before. Choose another --out.")
    foreign = sorted(n for n in names if n in present and n not in owned)
    if foreign:
        return (f"{shown} holds {', '.join(foreign)}, which the {manifest} there does not list as written by bhm; "
                f"move {'it' if len(foreign) == 1 else 'them'} away or choose another --out.")
    return None


def check_out_folder(out: Path, names: list[str], manifest: str, tables: list[str] | None = None) -> None:
    """Raise UsageError when bhm may not write `names` into `out` (checked again, under a lock, when writing)."""
    why = _refusal(Path(os.path.realpath(out)), shown_path(out), names, manifest, tables or [])
    if why:
        raise UsageError(why)


# -- writing -----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): concurrent runs into one folder are not serialised
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Let a Ctrl-C arriving during the final renames take effect once they are done."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    pressed: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:
        raise KeyboardInterrupt


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _temp_name(out: Path) -> str:
    """`.NAME.bhm-tmp-PID-HOST-RANDOM`: whose it is, so that only a dead run's folder is ever removed."""
    return f".{out.name}{TEMP_MARK}{os.getpid()}-{_host()}-{secrets.token_hex(4)}"


def _run_is_gone(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _remove_leftovers(out: Path) -> None:
    """Temporary folders beside `out` of runs on this machine that died (SIGKILL, power loss)."""
    host = _host()
    for leftover in out.parent.glob(f".{_glob_escape(out.name)}.*tmp-*"):
        tag = leftover.name.removeprefix(f".{out.name}")
        if not leftover.is_dir() or leftover.is_symlink():
            continue
        if tag.startswith(".tmp-"):  # bhm 0.1.0 before this protocol: no owner recorded
            shutil.rmtree(leftover, ignore_errors=True)
        elif tag.startswith(TEMP_MARK):
            pid, _, rest = tag.removeprefix(TEMP_MARK).partition("-")
            if pid.isdigit() and rest.rpartition("-")[0] == host and _run_is_gone(int(pid)):
                shutil.rmtree(leftover, ignore_errors=True)


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _commit(tmp: Path, out: Path, names: list[str], manifest: str, tables: list[str]) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    earlier = owned_files(out, manifest, tables) or set()
    for name in names:
        if name != manifest:
            os.replace(tmp / name, out / name)
    for name in sorted(earlier - set(names)):  # e.g. the other format: it would now be misleading
        (out / name).unlink(missing_ok=True)
    os.replace(tmp / manifest, out / manifest)


def publish(out: Path, fill: Callable[[Path], list[str]], manifest: str, document: dict[str, Any],
            tables: list[str] | None = None) -> list[Path]:
    """Write files into the result folder `out` by the protocol above and return their paths.

    `fill(folder)` writes the files into an empty temporary folder and returns their names in the
    order to report them; `document` is written as `manifest`, with those names and their sha256
    added as `outputs`. `tables` are the base names a run writes in either format (recognises
    manifests older than `outputs`). Raises UsageError when `out` is not bhm's to write.
    """
    shown = shown_path(out)
    check_out_folder(out, [], manifest, tables)
    out = Path(os.path.realpath(out))  # a symlinked folder is written where it points
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the result folder {shown}: {e.strerror}.") from e
    tmp = out.parent / _temp_name(out)
    committing = False
    try:
        tmp.mkdir()  # mode 0777 less the umask, as any folder the user makes
        names = [n for n in fill(tmp) if n != manifest]
        outputs = [{"file": n, "sha256": sha256_file(tmp / n)} for n in names]
        (tmp / manifest).write_text(json.dumps({**document, "outputs": outputs}, indent=2, default=str) + "\n",
                                    encoding="utf-8")
        names.append(manifest)
        with _exclusive(out.parent):
            check_out_folder(out, names, manifest, tables)  # another run may have written meanwhile
            _remove_leftovers(out)
            with _ctrl_c_deferred():
                committing = True
                _commit(tmp, out, names, manifest, tables or [])
    except (OSError, pl.exceptions.PolarsError) as e:
        reason = getattr(e, "strerror", None) or str(e).splitlines()[0].replace(str(tmp), shown)
        after = "Some files there may be from this run." if committing else "Earlier results there are unchanged."
        raise WriteError(f"could not write the results to {shown}: {reason}. {after}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def write_atomically(out: Path, tables: dict[str, pl.DataFrame], documents: dict[str, Any], fmt: str = "parquet",
                     *, manifest: str | None = None) -> list[Path]:
    """Write `tables` (as NAME.FMT) and JSON `documents` into `out` (see `publish`).

    `manifest` is the document that records what bhm wrote (default: the last of `documents`).
    """
    if fmt not in FORMATS:
        msg = f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}"
        raise ValueError(msg)
    if not documents:
        msg = "a manifest document is required: it records which files bhm wrote"
        raise ValueError(msg)
    manifest = manifest or list(documents)[-1]

    def fill(folder: Path) -> list[str]:
        names = []
        for name, df in tables.items():
            names.append(f"{name}.{fmt}")
            if fmt == "parquet":
                df.write_parquet(folder / names[-1])
            else:
                df.write_csv(folder / names[-1])
        for name, doc in documents.items():
            if name != manifest:
                (folder / name).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
                names.append(name)
        return names

    return publish(out, fill, manifest, documents[manifest], list(tables))


RESULT_TABLES = ("summary", "detail")


def check_results_folder(out: Path, fmt: str = "parquet") -> None:
    """Raise UsageError, before any work, when `bhm compute` may not write its results into `out`."""
    check_out_folder(out, [*(f"{t}.{fmt}" for t in RESULT_TABLES), "manifest.json"], "manifest.json", list(RESULT_TABLES))


def write_results(result: ComputeResult, manifest: dict[str, Any], out: Path, fmt: str = "parquet") -> list[Path]:
    """summary, detail and manifest.json (last)."""
    tables = dict(zip(RESULT_TABLES, (result.summary, result.detail), strict=True))
    return write_atomically(out, tables, {"manifest.json": manifest}, fmt)
