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
    """One problem found while validating a spec or value set file."""

    file: str
    line: int | None
    message: str
    hint: str | None = None
    measure: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
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
