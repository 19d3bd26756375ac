"""Load value set CSV files, checking every row; later directories override earlier ones by name."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from bhmeasures.errors import Issue, SpecError

COLUMNS = ("value_set", "version", "code_system", "code", "description", "provenance", "source")
# optional: per-code attributes, "name=value;name=value" (a drug's ingredient, an instrument's threshold)
ATTRIBUTES_COLUMN = "attributes"
REQUIRED_COLUMNS = ("value_set", "version", "code_system", "code")

# Shape of a code (without a trailing '*' prefix marker) per code system.
CODE_SYSTEMS: dict[str, re.Pattern[str]] = {
    "ICD10CM": re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{0,4})?$"),
    "ICD10PCS": re.compile(r"^[0-9A-Z]{1,7}$"),
    "CPT": re.compile(r"^[0-9]{4}[0-9A-Z]$|^[0-9]{1,4}$"),
    "HCPCS": re.compile(r"^[A-Z][0-9]{0,4}$"),
    "UBREV": re.compile(r"^[0-9]{1,4}$"),
    "UBTOB": re.compile(r"^[0-9]{1,3}$"),
    "POS": re.compile(r"^[0-9]{1,2}$"),
    "NUCC": re.compile(r"^[0-9A-Z]{1,10}$"),
    "NDC": re.compile(r"^[0-9]{1,11}$"),
    "LOINC": re.compile(r"^[0-9]{1,7}-?[0-9]?$"),
}


@dataclass
class ValueSet:
    name: str
    version: str
    file: Path
    provenance: set[str] = field(default_factory=set)
    # code system -> exact codes; code system -> prefixes (without '*')
    codes: dict[str, set[str]] = field(default_factory=dict)
    prefixes: dict[str, set[str]] = field(default_factory=dict)
    # attribute name -> code -> value (exact codes only)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def systems(self) -> set[str]:
        return set(self.codes) | set(self.prefixes)

    def size(self) -> int:
        return sum(len(v) for v in self.codes.values()) + sum(len(v) for v in self.prefixes.values())


@dataclass(eq=False)  # hashed by identity, so loaded specs can be cached per library
class ValueSetLibrary:
    sets: dict[str, ValueSet]
    file_hashes: dict[str, str]

    def names(self) -> list[str]:
        return sorted(self.sets)

    def __contains__(self, name: str) -> bool:
        return name in self.sets

    def __getitem__(self, name: str) -> ValueSet:
        return self.sets[name]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_file(path: Path, issues: list[Issue]) -> dict[str, ValueSet]:
    found: dict[str, ValueSet] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)  # rows as lists, fields by position: a third of the time of csv.DictReader
        header = next(reader, [])
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            issues.append(Issue(str(path), 1, f"value set file lacks column(s) {', '.join(missing)}.",
                                f"The header must be: {','.join(COLUMNS)}"))
            return found
        at = {c: i for i, c in enumerate(header)}  # a repeated column name: the last one, as DictReader had it
        i_name, i_system, i_code, i_version = at["value_set"], at["code_system"], at["code"], at["version"]
        i_provenance, i_attributes = at.get("provenance"), at.get(ATTRIBUTES_COLUMN)
        width = len(header)
        for row in reader:
            if not row:  # a blank line
                continue
            if len(row) < width:  # missing trailing fields are empty
                row = row + [""] * (width - len(row))
            line = reader.line_num
            name = row[i_name].strip()
            system = row[i_system].strip().upper()
            code = row[i_code].strip().upper()
            version = row[i_version].strip()
            if not name or not code or not version:
                issues.append(Issue(str(path), line, "row has an empty value_set, version or code.", "Fill it in or delete the row."))
                continue
            shape = CODE_SYSTEMS.get(system)
            if shape is None:
                issues.append(Issue(str(path), line, f"unknown code_system '{row[i_system]}'.",
                                    f"Use one of {', '.join(CODE_SYSTEMS)}."))
                continue
            is_prefix = code.endswith("*")
            bare = code.rstrip("*")
            if not shape.match(bare):
                issues.append(Issue(str(path), line, f"'{code}' is not a valid {system} code."))
                continue
            vs = found.get(name)
            if vs is None:
                vs = found[name] = ValueSet(name, version, path)
            if vs.version != version:
                issues.append(Issue(str(path), line, f"value set '{name}' has two versions ({vs.version}, {version}).",
                                    "One value set has one version per file."))
                continue
            vs.provenance.add((row[i_provenance].strip() if i_provenance is not None else "") or "unspecified")
            target = vs.prefixes if is_prefix else vs.codes
            target.setdefault(system, set()).add(bare)
            attributes = row[i_attributes] if i_attributes is not None else ""
            if not attributes:
                continue
            for pair in filter(None, (p.strip() for p in attributes.split(";"))):
                key, sep, value = pair.partition("=")
                if not sep or not key.strip() or is_prefix:
                    issues.append(Issue(str(path), line, f"attribute '{pair}' is not name=value on an exact code.",
                                        "Write attributes as name=value;name=value, e.g. drug=aripiprazole;days_supply=28."))
                    continue
                vs.attributes.setdefault(key.strip(), {})[bare] = value.strip()
    return found


def load_value_sets(directories: list[Path]) -> ValueSetLibrary:
    """Read every `*.csv` under each directory; a later directory's set replaces an earlier one of the same name."""
    issues: list[Issue] = []
    sets: dict[str, ValueSet] = {}
    hashes: dict[str, str] = {}
    for directory in directories:
        if not directory.is_dir():
            issues.append(Issue(str(directory), None, "value set directory does not exist.", "Pass --valuesets DIR with CSV files."))
            continue
        files = sorted(directory.rglob("*.csv"))
        if not files:
            issues.append(Issue(str(directory), None, "value set directory holds no .csv files."))
        for path in files:
            hashes[str(path)] = _sha256(path)
            sets.update(_read_file(path, issues))
    if issues:
        raise SpecError(issues)
    return ValueSetLibrary(sets, hashes)
