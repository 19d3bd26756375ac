"""The manifest records each input file's sha256 and stamp. A run into a results folder reuses the digest an
earlier run there took of a file whose stamp is unchanged (path, size, modification and status-change times,
inode, device); any other file is hashed, so the manifest always names the bytes that were read."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from tinydata import compute, write_data

import bhmeasures.inputs.reader as reader


def _inputs(out: Path) -> dict[str, dict]:
    return {f["table"]: f for f in json.loads((out / "manifest.json").read_text())["inputs"]}


def _true_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the runs hash."""
    seen: list[str] = []
    real = reader.sha256_file

    def counting(path: Path) -> str:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(reader, "sha256_file", counting)
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
