"""The manifest records each input file's sha256 and stamp. A run into a results folder reuses the digest an
earlier run there took of a file whose stamp is unchanged (path, size, modification and status-change times,
inode, device); any other file is hashed, so the manifest always names the bytes that were read."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from tinydata import compute, write_data

import bhmeasures.digest as digest
from bhmeasures.errors import ExitCode


def _inputs(out: Path) -> dict[str, dict]:
    return {f["table"]: f for f in json.loads((out / "manifest.json").read_text())["inputs"]}


def _true_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the runs hash, in the order hashing started."""
    seen: list[str] = []
    real = digest._hash_in_child

    def counting(paths: list[Path]) -> list[Future[str]]:
        seen.extend(p.name for p in paths)
        return real(paths)

    monkeypatch.setattr(digest, "_hash_in_child", counting)
    return seen


def test_an_unchanged_file_keeps_the_digest_of_the_last_run(tmp_path: Path, hashed: list[str]) -> None:
    data, out = write_data(tmp_path / "d"), tmp_path / "out"
    assert compute(data, out).exit_code == 0
    first = _inputs(out)
    assert sorted(hashed) == sorted(p.name for p in data.iterdir())
    for f in first.values():
        assert f["sha256"] == _true_digest(Path(f["stamp"]["path"]))
    hashed.clear()
    assert compute(data, out).exit_code == 0
    assert hashed == []  # nothing changed: nothing hashed again
    assert _inputs(out) == first
    # another results folder knows no earlier run: every file is hashed
    assert compute(data, tmp_path / "other").exit_code == 0
    assert sorted(hashed) == sorted(p.name for p in data.iterdir())


def test_a_rewritten_file_is_hashed_again_even_with_its_old_size_and_time(tmp_path: Path, hashed: list[str]) -> None:
    data, out = write_data(tmp_path / "d"), tmp_path / "out"
    assert compute(data, out).exit_code == 0
    before = _inputs(out)["eligibility"]
    path = data / "eligibility.csv"
    old = path.stat()
    time.sleep(0.01)  # a status-change time the rewrite cannot share with the first write
    path.write_text(path.read_text().replace("female", "FEMALE"))  # same size
    os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # and the same modification time
    assert path.stat().st_size == old.st_size and path.stat().st_mtime_ns == old.st_mtime_ns
    hashed.clear()
    assert compute(data, out).exit_code == 0
    assert hashed == ["eligibility.csv"]
    after = _inputs(out)["eligibility"]
    assert after["sha256"] == _true_digest(path) != before["sha256"]


def test_a_file_whose_stamp_differs_is_hashed_whatever_the_manifest_says(tmp_path: Path, hashed: list[str]) -> None:
    data, out = write_data(tmp_path / "d"), tmp_path / "out"
    assert compute(data, out).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    for f in manifest["inputs"]:
        f["sha256"] = "0" * 64  # a digest that no longer matches is never trusted without its stamp
        f["stamp"]["size"] += 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    hashed.clear()
    assert compute(data, out).exit_code == 0
    assert sorted(hashed) == sorted(p.name for p in data.iterdir())
    assert all(f["sha256"] == _true_digest(Path(f["stamp"]["path"])) for f in _inputs(out).values())


def test_a_file_rewritten_after_its_early_hash_began_is_hashed_again(tmp_path: Path, hashed: list[str]) -> None:
    """`bhm compute` starts hashing before it imports the engine; the run takes that digest only for the file
    as it was then."""
    path = tmp_path / "medical_claim.csv"
    path.write_text("a,b\n1,2\n")
    digest.start_hashing([path], {})
    time.sleep(0.01)
    path.write_text("a,b\n1,3\n")  # same size
    stamp, sha = digest.digest_of(path, {})
    assert stamp == digest.file_stamp(path)
    assert (sha if isinstance(sha, str) else sha.result()) == _true_digest(path)
    assert hashed == [path.name, path.name]


def test_an_early_hash_serves_one_run_only(tmp_path: Path, hashed: list[str]) -> None:
    path = tmp_path / "eligibility.csv"
    path.write_text("member_id\nM1\n")
    digest.start_hashing([path], {})
    digest.start_hashing([path], {})  # started already, for this very stamp
    first = digest.digest_of(path, {})[1]
    second = digest.digest_of(path, {})[1]  # the next run hashes again, as runs always have
    assert first is not second
    assert not isinstance(first, str) and not isinstance(second, str)
    assert first.result() == second.result() == _true_digest(path)
    assert hashed == [path.name, path.name]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_cancelled_hash_ends_its_child_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "never_written"
    os.mkfifo(pipe)  # the child blocks reading it: a hash that would never end
    digest.start_hashing([pipe], {})
    _, pending = digest.digest_of(pipe, {})
    assert not isinstance(pending, str) and not pending.done()
    child = next(j.proc for j in digest._jobs if j.proc is not None and str(pipe) in j.proc.args)
    digest.cancel_pending_hashes()
    assert isinstance(pending.exception(timeout=10), digest.HashingCancelled)
    assert child.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_child_killed_by_another_hand_leaves_the_hash_to_this_process(tmp_path: Path) -> None:
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    _, pending = digest.digest_of(pipe, {})
    child = next(j.proc for j in digest._jobs if j.proc is not None and str(pipe) in j.proc.args)
    child.kill()  # not a cancel: the out-of-memory killer, say
    child.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:  # the thread that waited for the child opens the pipe to read it now
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # no reader yet
            assert time.monotonic() < deadline, "nothing reads the file after its child died"
            time.sleep(0.01)
    os.write(fd, b"claim_id\nC1\n")
    os.close(fd)
    assert not isinstance(pending, str)
    assert pending.result(timeout=10) == hashlib.sha256(b"claim_id\nC1\n").hexdigest()


def test_what_the_child_prints_besides_its_digests_is_not_believed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "eligibility.csv"
    path.write_text("member_id\nM1\n")
    monkeypatch.setattr(digest, "_CHILD", "print('hello'); print('0 not-a-digest'); print('7 ' + 'f' * 64)")
    _, sha = digest.digest_of(path, {})
    assert not isinstance(sha, str) and sha.result(timeout=10) == _true_digest(path)  # taken here instead


def test_a_file_the_child_cannot_read_fails_its_digest_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "eligibility.csv"
    folder.mkdir()
    _, sha = digest.digest_of(folder, {})
    assert not isinstance(sha, str)
    with pytest.raises(OSError, match="eligibility.csv: Is a directory"):
        sha.result(timeout=10)


@pytest.mark.parametrize("why", ["no python to start", "a frozen app"])
def test_without_a_child_the_digest_is_taken_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str) -> None:
    path = tmp_path / "pharmacy_claim.csv"
    path.write_text("claim_id\nRX1\n")
    if why == "a frozen app":
        monkeypatch.setattr(digest.sys, "frozen", True, raising=False)
        monkeypatch.setattr(digest.subprocess, "Popen", None)  # would fail the test if called
    else:
        monkeypatch.setattr(digest.sys, "executable", str(tmp_path / "no-such-python"))
    _, sha = digest.digest_of(path, {})
    assert not isinstance(sha, str) and sha.result(timeout=10) == _true_digest(path)


def test_a_run_that_fails_leaves_no_hash_behind(tmp_path: Path, hashed: list[str]) -> None:
    data = write_data(tmp_path / "d")
    (data / "eligibility.csv").write_text("member_id\nM1\n")  # required columns missing: exit 4
    assert compute(data, tmp_path / "out").exit_code == int(ExitCode.INPUT_INVALID)
    assert sorted(hashed) == sorted(p.name for p in data.iterdir())  # started before the inputs were checked
    assert digest._started == {}  # and dropped when they failed


def test_the_command_line_imports_no_engine_before_it_starts_hashing() -> None:
    """Polars, pyarrow and the engine load after the hashing starts (about 0.7 s of one core it overlaps)."""
    code = ("import sys, bhmeasures.cli; "
            "print(sorted(m for m in ('polars', 'pyarrow', 'numpy', 'bhmeasures.api', 'bhmeasures.engine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
