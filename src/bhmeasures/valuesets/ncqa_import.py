"""`bhm valuesets import`: NCQA's licensed workbooks as bhm value-set files.

Organisations with an NCQA licence receive the HEDIS Value Set Directory (VSD) and Medication List Directory
(MLD) as Excel workbooks. This module reads their published layout and writes bhm's CSV value sets
(`measure_specs/valuesets/README.md`), so `bhm compute --valuesets DIR` runs the bundled specs on the licensed
lists. No NCQA content ships with bhm; the tests build a small synthetic workbook in the same layout.

Layout read (header row found in the first rows of the sheet; column names matched without regard to case,
spaces or punctuation):

- VSD, sheet "Value Sets to Codes": Value Set Name, Value Set OID, Value Set Version, Code, Definition, Code
  System, Code System OID, Code System Version.
- MLD, sheet "Medication Lists to Codes" (also "Medications List to Codes"): Medication List Name, Medication
  List OID / Version when present, Code (NDC), Code System, Generic Product Name, Route, Drug ID, ...

What becomes of a row:

- Its list is written under the bhm value-set name the bundled specs use when the names agree (ignoring case,
  punctuation and a trailing "Value Set", "Medications List" or "List"), else under its own name. The
  long-acting injection lists split by days supply ("Long-Acting Injections 28 Days Supply ...") are merged into
  bhm's two long-acting sets, NDCs into Long-Acting Injectable Antipsychotic Medications and HCPCS codes into
  Long-Acting Antipsychotic Injections, each code carrying `days_supply=N` from its list's name.
- Medication list codes carry `drug=<the drug>`, what the days-covered arithmetic calls "same drug": the
  `--drug-column` given, else the first of Ingredient, Generic Product Name, Drug Name, Drug ID present.
- Code systems bhm matches on claims are kept (ICD-10-CM with the dot, ICD-10-PCS, CPT incl. category II,
  HCPCS, UB revenue (4 digits), UB type of bill (3 digits, `011x` becomes the prefix `11*`), POS (2 digits), NDC
  (11 digits; dashed 4-4-2, 5-3-2, 5-4-1 converted), LOINC). Others (SNOMED CT, ICD-9, RxNorm, CVX, ...) and
  malformed codes are counted in the report, per list, and not written.
- provenance `ncqa-imported`; source names the workbook, sheet, list, OID and NCQA version; version is the one
  the bundled specs pin for that name (so they use the file unchanged), else the NCQA version.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bhmeasures.errors import BhmError, InputError
from bhmeasures.valuesets.store import CODE_SYSTEMS

PROVENANCE = "ncqa-imported"
HEADER = ("value_set", "version", "code_system", "code", "description", "provenance", "source", "attributes")
SHEETS = {"valuesetstocodes": "Value Sets to Codes", "medicationlisttocodes": "Medication Lists to Codes",
          "medicationliststocodes": "Medication Lists to Codes", "medicationslisttocodes": "Medications List to Codes",
          "medicationsliststocodes": "Medications Lists to Codes"}
COLUMNS: dict[str, tuple[str, ...]] = {  # what we need -> header names that give it, in order of preference
    "list": ("valuesetname", "medicationlistname", "medicationsListname", "listname"),
    "oid": ("valuesetoid", "medicationlistoid", "listoid"),
    "version": ("valuesetversion", "medicationlistversion", "listversion", "version"),
    "code": ("code", "ndccode", "ndc", "codendc"),
    "description": ("definition", "description", "codedescription", "genericproductname", "drugname"),
    "system": ("codesystem",),
}
DRUG_COLUMNS = ("ingredient", "activeingredient", "genericproductname", "drugname", "drugid")
SYSTEMS = {  # NCQA code system spellings (normalised) -> bhm code system
    "ICD10CM": "ICD10CM", "ICD10PCS": "ICD10PCS", "CPT": "CPT", "CPTCATII": "CPT", "CPTCAT2": "CPT", "CPTII": "CPT",
    "HCPCS": "HCPCS", "HCPCSLEVELII": "HCPCS", "HCPCSII": "HCPCS", "UBREV": "UBREV", "UBTOB": "UBTOB", "POS": "POS",
    "NDC": "NDC", "LOINC": "LOINC",
}
DAYS_SUPPLY = re.compile(r"(\d+)[\s-]*days?[\s-]*supply", re.IGNORECASE)
LONG_ACTING = re.compile(r"long[\s-]*acting[\s-]*injection", re.IGNORECASE)
LAI_TARGETS = {"NDC": "Long-Acting Injectable Antipsychotic Medications", "HCPCS": "Long-Acting Antipsychotic Injections",
               "CPT": "Long-Acting Antipsychotic Injections"}


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _list_key(name: str) -> str:
    """A list name for matching: lower case, no punctuation, without NCQA's "Value Set" / "List" endings."""
    n = re.sub(r"\s+(value\s*set|list)\s*$", "", name.strip(), flags=re.IGNORECASE)
    return _key(n)


@dataclass
class _Target:
    name: str
    version: str
    rows: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (system, code) -> row
    lists: set[str] = field(default_factory=set)


@dataclass
class ImportReport:
    """What `import_workbooks` wrote and what it could not map."""

    out: Path
    written: dict[str, int] = field(default_factory=dict)  # bhm value set -> codes
    sources: dict[str, list[str]] = field(default_factory=dict)  # bhm value set -> NCQA lists
    own_names: list[str] = field(default_factory=list)  # lists no bundled spec names, written under their own name
    unmapped: dict[tuple[str, str], int] = field(default_factory=dict)  # (list, why) -> rows
    conflicts: list[str] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)  # attributes taken from the bundled lists
    drug_column: dict[str, str] = field(default_factory=dict)  # sheet -> column read as the drug
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"wrote {len(self.written)} value set(s), {sum(self.written.values()):,} codes, to {self.out}"]
        for name, n in sorted(self.written.items()):
            lists = ", ".join(sorted(self.sources.get(name, [])))
            out.append(f"  {name}: {n:,} codes (from {lists})")
        for sheet, col in sorted(self.drug_column.items()):
            out.append(f"  'same drug' read from column {col!r} of {sheet}")
        if self.own_names:
            out.append(f"not named by any bundled spec (written under their own names): {', '.join(sorted(self.own_names))}")
        if self.unmapped:
            out.append(f"not mapped: {sum(self.unmapped.values()):,} row(s)")
            out += [f"  {lst}: {n:,} row(s), {why}" for (lst, why), n in sorted(self.unmapped.items())]
        out += [f"conflict: {c}" for c in self.conflicts]
        out += [f"filled in: {f}" for f in self.filled]
        return out


def pinned_versions(specs: Path) -> dict[str, str]:
    """Value set name -> the version the specs (and libraries) under `specs` pin it at."""
    out: dict[str, str] = {}
    for path in sorted(specs.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for ref in doc.get("value_sets") or [] if isinstance(doc, dict) else []:
            if isinstance(ref, dict) and "name" in ref and "version" in ref:
                out.setdefault(str(ref["name"]), str(ref["version"]))
    return out


def _normalise(system: str, code: str) -> tuple[str, bool] | None:
    """(code as bhm writes it, whether it is a prefix), or None when malformed."""
    c = code.strip().upper().replace(" ", "")
    prefix = False
    if system == "ICD10CM":
        c = c.replace(".", "")
        c = c[:3] + ("." + c[3:] if len(c) > 3 else "")
    elif system == "UBREV" and c.isdigit():
        c = c.zfill(4)
    elif system == "UBTOB":
        if c.endswith("X"):
            c, prefix = c.rstrip("X"), True
        if c.startswith("0") and (len(c) == 4 or (prefix and len(c) == 3)):
            c = c[1:]  # bhm writes bill types without the leading 0
    elif system == "POS" and c.isdigit():
        c = c.zfill(2)
    elif system == "NDC":
        parts = c.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            c = parts[0].zfill(5) + parts[1].zfill(4) + parts[2].zfill(2)
        elif c.isdigit() and len(c) <= 11:
            c = c.zfill(11)  # a numeric cell loses the leading zeros
        else:
            return None
    shape = CODE_SYSTEMS[system]
    return (c, prefix) if shape.match(c) else None


def _read_sheet(path: Path, ws: Any, sheet: str) -> tuple[list[str], list[tuple]]:
    rows = ws.iter_rows(values_only=True)
    for _ in range(20):
        header = next(rows, None)
        if header is None:
            break
        keys = [_key(h) for h in header]
        if "code" in keys or "ndccode" in keys or "ndc" in keys:
            return keys, list(rows)
    msg = f"{path.name}: sheet '{sheet}' has no header row with a Code column in its first 20 rows."
    raise InputError(msg)


def _column(keys: list[str], names: tuple[str, ...]) -> int | None:
    for n in names:
        if _key(n) in keys:
            return keys.index(_key(n))
    return None


def import_workbooks(workbooks: list[Path], out: Path, *, specs: Path | None = None, drug_column: str | None = None) -> ImportReport:
    """Convert NCQA VSD / MLD workbooks into bhm value-set CSV files under `out`; see the module text."""
    try:
        import openpyxl
    except ImportError as e:
        msg = "reading NCQA workbooks needs openpyxl: pip install 'bhmeasures[ncqa]' (or pip install openpyxl)"
        raise BhmError(msg) from e
    from bhmeasures.bundled import specs_dir

    pinned = pinned_versions(specs or specs_dir())
    by_key = {_list_key(n): n for n in pinned}
    targets: dict[str, _Target] = {}
    report = ImportReport(out=out)
    unmapped: dict[tuple[str, str], int] = defaultdict(int)

    for path in workbooks:
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # any unreadable file is reported the same way
            msg = f"{path}: not a readable Excel workbook ({type(e).__name__}: {e})."
            raise InputError(msg) from e
        sheets = [s for s in wb.sheetnames if _key(s) in SHEETS]
        if not sheets:
            msg = (f"{path}: no sheet {' or '.join(repr(s) for s in sorted(set(SHEETS.values())))} "
                   f"(its sheets: {', '.join(wb.sheetnames)}).")
            raise InputError(msg)
        for sheet in sheets:
            keys, rows = _read_sheet(path, wb[sheet], sheet)
            cols = {what: _column(keys, names) for what, names in COLUMNS.items()}
            missing = [what for what in ("list", "code") if cols[what] is None]
            if missing:
                msg = (f"{path.name}: sheet '{sheet}' lacks column(s) for {', '.join(missing)} "
                       f"(its columns: {', '.join(k for k in keys if k)}).")
                raise InputError(msg)
            medication = "medication" in _key(sheet)
            drug_at = None
            if medication:
                drug_at = _column(keys, (drug_column,)) if drug_column else _column(keys, DRUG_COLUMNS)
                if drug_column and drug_at is None:
                    msg = f"{path.name}: sheet '{sheet}' has no column '{drug_column}' (--drug-column)."
                    raise InputError(msg)
                if drug_at is not None:
                    report.drug_column[f"{path.name} / {sheet}"] = keys[drug_at]

            for row in rows:
                name, code = _cell(row, cols["list"]), _cell(row, cols["code"])
                if not name and not code:
                    continue
                if not name or not code:
                    unmapped[(name or "(no list name)", "rows without a list name or code")] += 1
                    continue
                raw_system = _cell(row, cols["system"]) or ("NDC" if medication else "")
                system = SYSTEMS.get(_key(raw_system).upper())
                if system is None:
                    unmapped[(name, f"code system {raw_system or '(empty)'} is not one bhm matches on claims")] += 1
                    continue
                shaped = _normalise(system, code)
                if shaped is None:
                    unmapped[(name, f"not a valid {system} code")] += 1
                    continue
                bare, is_prefix = shaped
                attrs: dict[str, str] = {}
                days = DAYS_SUPPLY.search(name)
                if days and not is_prefix:
                    attrs["days_supply"] = str(int(days.group(1)))
                target_name = by_key.get(_list_key(name))
                if days and LONG_ACTING.search(name) and system in LAI_TARGETS:
                    target_name = LAI_TARGETS[system]
                if target_name is None:
                    target_name = re.sub(r"\s+(value\s*set|list)\s*$", "", name.strip(), flags=re.IGNORECASE)
                    if target_name not in report.own_names:
                        report.own_names.append(target_name)
                drug = _cell(row, drug_at).lower() if drug_at is not None else ""
                if drug and not is_prefix:
                    attrs["drug"] = drug.replace(";", ",").replace("=", "-")
                version = _cell(row, cols["version"])
                target = targets.setdefault(target_name, _Target(target_name, pinned.get(target_name) or version or "ncqa"))
                target.lists.add(name)
                about = [f"{label} {v}" for label, v in (("OID", _cell(row, cols["oid"])), ("version", version)) if v]
                source = f"NCQA {path.name} / {sheet} / {name}" + (f" ({', '.join(about)})" if about else "")
                key = (system, bare + ("*" if is_prefix else ""))
                previous = target.rows.get(key)
                if previous is not None:
                    if previous["attributes"] != _attributes(attrs):
                        report.conflicts.append(f"{target_name}: {system} {bare} is in two lists with different attributes "
                                                f"({previous['attributes']} / {_attributes(attrs)}); the first is kept")
                    continue
                target.rows[key] = {"value_set": target_name, "version": target.version, "code_system": system,
                                    "code": key[1], "description": _cell(row, cols["description"]), "provenance": PROVENANCE,
                                    "source": source, "attributes": _attributes(attrs)}
        wb.close()

    _fill_from_bundled(targets, report)
    out.mkdir(parents=True, exist_ok=True)
    for name, target in sorted(targets.items()):
        path = out / f"{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
            w.writeheader()
            w.writerows(target.rows[k] for k in sorted(target.rows))
        report.written[name] = len(target.rows)
        report.sources[name] = sorted(target.lists)
        report.files.append(path)
    report.unmapped = dict(unmapped)
    (out / "IMPORT_REPORT.txt").write_text("\n".join(report.lines()) + "\n", encoding="utf-8")
    return report


def _fill_from_bundled(targets: dict[str, _Target], report: ImportReport) -> None:
    """Attributes the workbooks do not give (the drug of an injection's HCPCS code: the VSD has no drug column) are
    taken from bhm's bundled list of the same name, for the codes both have; the report counts them."""
    from bhmeasures.bundled import valuesets_dir
    from bhmeasures.valuesets import load_value_sets

    bundled = load_value_sets([valuesets_dir()])
    for name, target in targets.items():
        if name not in bundled or not bundled[name].attributes:
            continue
        filled: dict[str, int] = defaultdict(int)
        for (_, code), row in target.rows.items():
            attrs = dict(p.split("=", 1) for p in row["attributes"].split(";") if p)
            for attribute, values in bundled[name].attributes.items():
                if attribute not in attrs and code in values:
                    attrs[attribute] = values[code]
                    filled[attribute] += 1
            row["attributes"] = _attributes(attrs)
        for attribute, n in sorted(filled.items()):
            report.filled.append(f"{name}: '{attribute}' of {n} code(s) taken from bhm's bundled list (the workbook has none)")


def _cell(row: tuple, i: int | None) -> str:
    v = row[i] if i is not None and i < len(row) else None
    return "" if v is None else str(v).strip()


def _attributes(attrs: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(attrs.items()))
