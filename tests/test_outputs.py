"""Issue 7, item 3: bhm never destroys what is not its own. It writes only into a new or empty folder or one
whose manifest says bhm wrote it, replaces only the files that manifest lists, and a failed, interrupted
(Ctrl-C, SIGKILL) or concurrent run leaves complete results and no temporary folder behind."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from tinydata import CLAIMS_MEASURES, compute, write_data

from bhmeasures.cli import main
from bhmeasures.errors import ExitCode, UsageError
from bhmeasures.outputs import owned_files, write_atomically
from bhmeasures.outputs.writer import TEMP_MARK, _host

# Runs `bhm` with the first write of a result file paused, so a test can interrupt it mid-write.
PAUSED_RUN = """
import sys, time
import bhmeasures.outputs.writer as writer
real = writer.sha256_file
def paused(path):
    sys.stderr.write("WRITING\\n"); sys.stderr.flush()
    time.sleep(float(sys.argv[1]))
    return real(path)
writer.sha256_file = paused
from bhmeasures.cli import main
main(sys.argv[2:], prog_name="bhm")
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def temp_folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def start_paused(args: list[str], pause: float) -> subprocess.Popen[str]:
    if args[0] == "compute" and "--measures" not in args:
        args = [*args, "--measures", CLAIMS_MEASURES]  # what the tiny claims-only data support (else exit 5)
    proc = subprocess.Popen([sys.executable, "-c", PAUSED_RUN, str(pause), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.strip() == "WRITING", line + proc.stderr.read()
    return proc


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the run; its exit status and the rest of its stderr (closing its pipes)."""
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def assert_consistent(out: Path, manifest: str = "manifest.json") -> list[str]:
    """Every file the manifest lists is there with its sha256; returns the listed names."""
    doc = json.loads((out / manifest).read_text())
    for o in doc["outputs"]:
        assert hashlib.sha256((out / o["file"]).read_bytes()).hexdigest() == o["sha256"], o["file"]
    return [o["file"] for o in doc["outputs"]]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_data(tmp_path / "d")


# -- ownership ---------------------------------------------------------------------------------------
def test_a_folder_of_the_users_own_summary_and_detail_is_refused(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.csv").write_text("my own summary\n")
    (out / "detail.csv").write_text("my own detail\n")
    before = snapshot(out)
    result = compute(data, out, "--format", "csv")
    assert result.exit_code == ExitCode.USAGE_ERROR, result.output
    assert "holds files bhm did not write (detail.csv, summary.csv) and no manifest.json" in result.output
    assert snapshot(out) == before and temp_folders(out) == []


def test_the_data_folder_is_not_a_result_folder(data: Path) -> None:
    before = snapshot(data)
    result = compute(data, data)
    assert result.exit_code == ExitCode.USAGE_ERROR and "holds files bhm did not write" in result.output
    assert snapshot(data) == before


def test_only_files_the_manifest_lists_are_replaced(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    (out / "notes.txt").write_text("the user's notes\n")
    assert compute(data, out, "--format", "csv").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["detail.csv", "manifest.json", "notes.txt", "summary.csv"]
    assert (out / "notes.txt").read_text() == "the user's notes\n"
    assert assert_consistent(out) == ["summary.csv", "detail.csv"]


def test_a_users_file_named_like_a_result_is_never_overwritten(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0  # parquet
    (out / "summary.csv").write_text("the user's own summary\n")
    before = snapshot(out)
    result = compute(data, out, "--format", "csv")
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "holds summary.csv, which the manifest.json there does not list as written by bhm" in result.output
    assert snapshot(out) == before


def test_an_empty_folder_is_used_and_a_file_is_refused(data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"a file manager's")
    assert compute(data, empty).exit_code == 0
    assert assert_consistent(empty) == ["summary.parquet", "detail.parquet"]
    (tmp_path / "afile").write_text("x")
    for out, expected in ((tmp_path / "afile", "afile is a file; --out needs a folder"),
                          (tmp_path / "afile" / "sub", "afile is a file, not a folder")):
        result = compute(data, out)
        assert result.exit_code == ExitCode.USAGE_ERROR and expected in result.output
        assert "internal error" not in result.output
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_an_unwritable_parent_is_a_usage_error(data: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = compute(data, locked / "out")
    assert result.exit_code == ExitCode.USAGE_ERROR and "is not writable" in result.output


def test_results_of_an_earlier_version_are_recognised(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["outputs"]  # as bhm 0.1.0 wrote it
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert owned_files(out, "manifest.json", ["summary", "detail"]) >= {"summary.parquet", "detail.csv", "manifest.json"}
    assert compute(data, out, "--format", "csv").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["detail.csv", "manifest.json", "summary.csv"]


def test_a_manifest_cannot_claim_files_outside_its_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text(json.dumps({"outputs": [{"file": "../victim"}, {"file": "summary.csv"}]}))
    assert owned_files(tmp_path / "out", "manifest.json") == {"summary.csv", "manifest.json"}


def test_pay_documents_follow_the_same_rules(tmp_path: Path) -> None:
    frame = pl.DataFrame({"entity_id": ["E1"], "amount": [1.0]})
    out = tmp_path / "pay"
    files = write_atomically(out, {"line_items": frame, "totals": frame}, {"payment.json": {"program": {"id": "x"}}})
    assert [f.name for f in files] == ["line_items.parquet", "totals.parquet", "payment.json"]
    assert assert_consistent(out, "payment.json") == ["line_items.parquet", "totals.parquet"]
    assert json.loads((out / "payment.json").read_text())["program"] == {"id": "x"}
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "totals.csv").write_text("x")
    with pytest.raises(UsageError, match="no payment.json of an earlier bhm run"):
        write_atomically(theirs, {"totals": frame}, {"payment.json": {}}, "csv")
    assert (theirs / "totals.csv").read_text() == "x"


def test_sample_writes_only_into_its_own_folders(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "eligibility.parquet").write_bytes(b"the user's real data")
    result = CliRunner().invoke(main, ["sample", "--members", "20", "--out", str(theirs)])
    assert result.exit_code == ExitCode.USAGE_ERROR and "no sample.json" in result.output
    assert (theirs / "eligibility.parquet").read_bytes() == b"the user's real data"
    out = tmp_path / "sample"
    for _ in range(2):  # a second run replaces its own files
        assert CliRunner().invoke(main, ["sample", "--members", "20", "--out", str(out)]).exit_code == 0
    listed = assert_consistent(out, "sample.json")
    assert sorted(listed) == sorted(p.name for p in out.iterdir() if p.name != "sample.json")
    assert "eligibility.parquet" in listed and temp_folders(out) == []


# -- permissions -------------------------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_result_folders_and_files_follow_the_umask(data: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert compute(data, tmp_path / "out").exit_code == 0
        assert compute(data, tmp_path / "out", "--format", "csv").exit_code == 0
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert out.stat().st_mode & 0o777 == 0o750
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()} == dict.fromkeys(
        ["summary.csv", "detail.csv", "manifest.json"], 0o640)


# -- failures, interruptions, concurrency ------------------------------------------------------------
def test_a_failed_write_names_the_folder_not_the_temporary_one(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    before = snapshot(out)

    def disk_full(_self: pl.DataFrame, path: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pl.DataFrame, "write_parquet", disk_full)
    result = compute(data, out)
    assert result.exit_code == ExitCode.INTERNAL_ERROR
    assert "could not write the results to" in result.output and "No space left on device" in result.output
    assert "Earlier results there are unchanged" in result.output
    assert TEMP_MARK not in result.output and "internal error" not in result.output
    assert snapshot(out) == before and temp_folders(out) == []


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_while_writing_exits_130_and_leaves_earlier_results(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    before = snapshot(out)
    proc = start_paused(["compute", "--data", str(data), "--out", str(out), "--quiet", "--format", "csv"], 60)
    assert len(temp_folders(out)) == 1
    proc.send_signal(signal.SIGINT)
    status, stderr = finish(proc)
    assert status == ExitCode.INTERRUPTED and "interrupted" in stderr
    assert snapshot(out) == before and temp_folders(out) == []


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_a_killed_run_leaves_earlier_results_and_the_next_run_removes_its_temp_folder(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    before = snapshot(out)
    proc = start_paused(["compute", "--data", str(data), "--out", str(out), "--quiet"], 60)
    proc.kill()
    finish(proc)
    assert snapshot(out) == before
    assert len(temp_folders(out)) == 1  # SIGKILL leaves it: nothing runs after SIGKILL
    assert compute(data, out, "--format", "csv").exit_code == 0
    assert temp_folders(out) == []
    assert assert_consistent(out) == ["summary.csv", "detail.csv"]


def test_a_live_runs_temp_folder_is_left_alone(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead, alive = int(finished.stdout), os.getpid()
    for name in (f".out{TEMP_MARK}{dead}-{_host()}-0000", f".out{TEMP_MARK}{alive}-{_host()}-1111", ".out.tmp-abc123"):
        (tmp_path / name).mkdir()
    assert compute(data, out).exit_code == 0
    assert temp_folders(out) == [f".out{TEMP_MARK}{alive}-{_host()}-1111"]


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_two_runs_into_one_folder_leave_the_complete_results_of_the_last(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert compute(data, out).exit_code == 0
    (out / "notes.txt").write_text("kept\n")
    slow = start_paused(["compute", "--data", str(data), "--out", str(out), "--quiet", "--format", "csv"], 4)
    fast = compute(data, out, "--measures", "FUH")  # writes and commits while the slow run is writing
    assert fast.exit_code == 0, fast.output
    status, stderr = finish(slow)
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["detail.csv", "manifest.json", "notes.txt", "summary.csv"]
    assert assert_consistent(out) == ["summary.csv", "detail.csv"]
    assert set(pl.read_csv(out / "summary.csv")["measure_id"]) == set(CLAIMS_MEASURES.split(","))  # the slow run's, whole
    assert temp_folders(out) == []


@pytest.mark.skipif(os.name != "posix", reason="flock")
def test_the_final_step_waits_for_a_run_holding_the_folder(data: Path, tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another run committing into tmp_path would
    try:
        proc = subprocess.Popen([sys.executable, "-m", "bhmeasures.cli", "compute", "--measures", CLAIMS_MEASURES,
                                 "--data", str(data), "--out", str(out),
                                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not any((tmp_path / t / "manifest.json").exists() for t in temp_folders(out)):  # written, now at the lock
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1)
        assert proc.poll() is None and not out.exists()
    finally:
        os.close(fd)
    status, stderr = finish(proc)
    assert status == 0, stderr
    assert assert_consistent(out) == ["summary.parquet", "detail.parquet"]
