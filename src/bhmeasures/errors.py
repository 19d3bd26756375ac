"""Errors and exit codes shared by the library and the CLI."""

from __future__ import annotations

import datetime as dt
import difflib
import os
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Documented exit statuses of every `bhm` command."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE_ERROR = 2  # click's own status for bad options
    SPEC_INVALID = 3
    INPUT_INVALID = 4
    MEASURE_SKIPPED = 5
    INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


class BhmError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR


@dataclass(frozen=True)
class Issue:
    """One problem found in a file the user gave: where (file:line[:column]), what, and how to fix it."""

    file: str
    line: int | None
    message: str
    hint: str | None = None
    measure: str | None = None
    severity: str = "error"  # "error" stops the run; "warning" is reported and recorded
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        text = f"{where}: {self.message}"
        return f"{text} {self.hint}" if self.hint else text


@dataclass
class SpecError(BhmError):
    """A measure spec or value set is invalid; carries every issue found."""

    issues: list[Issue] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.SPEC_INVALID

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


class InputError(BhmError):
    """Input data break the contract (missing table or column, bad date, ...)."""

    exit_code = ExitCode.INPUT_INVALID


class UsageError(BhmError):
    """The command or call asks for something that does not exist or cannot be (unknown measure, bad --out)."""

    exit_code = ExitCode.USAGE_ERROR


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as messages show it: relative to the working directory when it lies under it, else as given."""
    text = os.fspath(path)
    if text.startswith("<"):  # in-memory tables are named <table>
        return text
    if not os.path.isabs(text):
        return os.path.normpath(text)
    try:
        return str(Path(text).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return text


def shown_value(value: object) -> str:
    """A value as the user wrote it: no Python reprs (`datetime.date(...)`, `None`, quotes)."""
    if value is None:
        return "empty"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return f'"{text}"' if text != text.strip() or not text else text


def did_you_mean(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if not close:
        # a shared word is a better hint than nothing ("MH Diagnosis" -> "Mental Health Diagnosis")
        words = set(name.lower().split())
        close = [k for k in known if words & set(k.lower().split()) - {"of", "and", "the", "in"}][:1]
    return f"did you mean '{close[0]}'?" if close else None


YEARS = (1900, 2100)  # a measurement year outside them is a typo, and would compute all zeros


def check_year(year: int) -> None:
    if not YEARS[0] <= year <= YEARS[1]:
        raise UsageError(f"year {year} is outside {YEARS[0]}-{YEARS[1]}; give the measurement year, e.g. 2025.")
