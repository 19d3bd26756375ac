"""Errors and exit codes shared by the library and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit statuses of every `bhm` command."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE_ERROR = 2  # click's own status for bad options
    SPEC_INVALID = 3
    INPUT_INVALID = 4
    MEASURE_SKIPPED = 5


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
