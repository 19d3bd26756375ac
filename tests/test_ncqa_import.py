"""`bhm valuesets import`: NCQA's Value Set Directory and Medication List Directory workbooks (their sheet and
column layout) become bhm value-set files. The workbooks here are synthetic, built in the test: no NCQA content."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import bhmeasures
from bhmeasures.cli import main
from bhmeasures.errors import ExitCode
from bhmeasures.valuesets import load_value_sets

openpyxl = pytest.importorskip("openpyxl")

VSD_HEADER = ["Value Set Name", "Value Set OID", "Value Set Version", "Code", "Definition", "Code System",
              "Code System OID", "Code System Version"]
VSD_ROWS = [
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "F20.0", "Paranoid schizophrenia", "ICD10CM"),
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "F2081", "Schizophreniform", "ICD10CM"),
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "F20.9", "Schizophrenia, unspecified", "ICD10CM"),
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "58214004", "Schizophrenia", "SNOMED CT US Edition"),
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "295.30", "Paranoid type", "ICD9CM"),
    ("Schizophrenia Value Set", "2.16.840.1.113883.3.464.1004.9991", "2024-03-31", "NOT A CODE", "typo", "ICD10CM"),
    ("Dementia Value Set", "2.16.840.1.113883.3.464.1004.9992", "2024-03-31", "G30.9", "Alzheimer's", "ICD10CM"),
    ("Outpatient POS Value Set", "2.16.840.1.113883.3.464.1004.9993", "2024-03-31", 2, "Telehealth", "POS"),
    ("Inpatient Stay Value Set", "2.16.840.1.113883.3.464.1004.9994", "2024-03-31", 100, "All-inclusive room", "UBREV"),
    ("Inpatient Stay Value Set", "2.16.840.1.113883.3.464.1004.9994", "2024-03-31", "011x", "Hospital inpatient", "UBTOB"),
    ("Long-Acting Injections 14 Days Supply Value Set", "2.16.840.1.113883.3.464.1004.9995", "2024-03-31", "J2794",
     "Risperidone long acting", "HCPCS"),
    ("Long-Acting Injections 28 Days Supply Value Set", "2.16.840.1.113883.3.464.1004.9996", "2024-03-31", "J2426",
     "Paliperidone palmitate", "HCPCS"),
    ("BH Stand Alone Acute Inpatient Value Set", "2.16.840.1.113883.3.464.1004.9997", "2024-03-31", "0114", "Psychiatric",
     "UBREV"),
]
MLD_HEADER = ["Medication List Name", "Code", "Code System", "Generic Product Name", "Route", "Drug ID"]
MLD_ROWS = [
    ("Antipsychotic Medications List", "00054006344", "NDC", "Risperidone", "Oral", "D0001"),
    ("Antipsychotic Medications List", "0054-0063-44", "NDC", "Risperidone", "Oral", "D0001"),  # the same NDC, dashed
    ("Antipsychotic Medications List", "00054022020", "NDC", "Quetiapine", "Oral", "D0002"),
    ("Antipsychotic Medications List", "313997", "RXNORM", "Risperidone", "Oral", "D0001"),
    ("Long Acting Injections 28 Days Supply Medications List", "50458056401", "NDC", "Paliperidone", "Intramuscular", "D0003"),
    ("Long Acting Injections 104 Days Supply Medications List", "50458-606-01", "NDC", "Paliperidone", "Intramuscular", "D0004"),
    ("Antidepressant Medications List", 49005001, "NDC", "Sertraline", "Oral", "D0005"),  # a numeric cell: zeros lost
]


def _workbook(path: Path, sheet: str, header: list[str], rows: list[tuple], title: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Measures to Value Sets"
    wb.active.append(["Measure ID", "Value Set Name"])
    ws = wb.create_sheet(sheet)
    if title:  # NCQA workbooks may carry a title above the header
        ws.append([title])
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


@pytest.fixture
def workbooks(tmp_path: Path) -> list[Path]:
    return [_workbook(tmp_path / "vsd.xlsx", "Value Sets to Codes", VSD_HEADER, VSD_ROWS, title="HEDIS MY 2025 Value Set Directory"),
            _workbook(tmp_path / "mld.xlsx", "Medication Lists to Codes", MLD_HEADER, MLD_ROWS)]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_workbooks_become_bhm_value_sets(workbooks: list[Path], tmp_path: Path) -> None:
    from bhmeasures.valuesets.ncqa_import import import_workbooks

    out = tmp_path / "licensed"
    report = import_workbooks(workbooks, out)
    library = load_value_sets([out])
    # names the bundled specs use, at the versions they pin; own names for the others
    assert report.written == {
        "Schizophrenia": 3, "Dementia": 1, "Outpatient POS": 1, "Inpatient Stay": 2, "Long-Acting Antipsychotic Injections": 2,
        "BH Stand Alone Acute Inpatient": 1, "Antipsychotic Medications": 2,
        "Long-Acting Injectable Antipsychotic Medications": 2, "Antidepressant Medications": 1}
    assert report.own_names == ["BH Stand Alone Acute Inpatient"]
    assert library["Schizophrenia"].version == "bhm-public-2025.1"
    assert library["BH Stand Alone Acute Inpatient"].version == "2024-03-31"
    assert all(library[n].provenance == {"ncqa-imported"} for n in report.written)
    # codes in bhm's shapes
    assert library["Schizophrenia"].codes == {"ICD10CM": {"F20.0", "F20.81", "F20.9"}}
    assert library["Outpatient POS"].codes == {"POS": {"02"}}
    assert library["Inpatient Stay"].codes == {"UBREV": {"0100"}} and library["Inpatient Stay"].prefixes == {"UBTOB": {"11"}}
    assert library["Antidepressant Medications"].codes == {"NDC": {"00049005001"}}
    # "same drug" and days supply as attributes; the days-supply lists merged by code system
    assert library["Antipsychotic Medications"].attributes == {"drug": {"00054006344": "risperidone", "00054022020": "quetiapine"}}
    lai = library["Long-Acting Injectable Antipsychotic Medications"]
    assert lai.attributes["days_supply"] == {"50458056401": "28", "50458060601": "104"}
    assert lai.attributes["drug"] == {"50458056401": "paliperidone", "50458060601": "paliperidone"}
    # the VSD has no drug column: an injection's drug comes from bhm's bundled list, and the report says so
    assert library["Long-Acting Antipsychotic Injections"].attributes == {
        "days_supply": {"J2794": "14", "J2426": "28"}, "drug": {"J2794": "risperidone", "J2426": "paliperidone"}}
    assert report.filled == [("Long-Acting Antipsychotic Injections: 'drug' of 2 code(s) taken from bhm's bundled list "
                              "(the workbook has none)")]
    assert report.drug_column == {"mld.xlsx / Medication Lists to Codes": "genericproductname"}
    # what could not be mapped, per list
    assert report.unmapped == {
        ("Schizophrenia Value Set", "code system SNOMED CT US Edition is not one bhm matches on claims"): 1,
        ("Schizophrenia Value Set", "code system ICD9CM is not one bhm matches on claims"): 1,
        ("Schizophrenia Value Set", "not a valid ICD10CM code"): 1,
        ("Antipsychotic Medications List", "code system RXNORM is not one bhm matches on claims"): 1,
    }
    source = _rows(out / "schizophrenia.csv")[0]["source"]
    assert source == ("NCQA vsd.xlsx / Value Sets to Codes / Schizophrenia Value Set "
                      "(OID 2.16.840.1.113883.3.464.1004.9991, version 2024-03-31)")
    text = (out / "IMPORT_REPORT.txt").read_text()
    assert "not mapped: 4 row(s)" in text and "BH Stand Alone Acute Inpatient" in text


def test_the_drug_column_can_be_chosen(workbooks: list[Path], tmp_path: Path) -> None:
    from bhmeasures.valuesets.ncqa_import import import_workbooks

    import_workbooks(workbooks[1:], tmp_path / "o", drug_column="Drug ID")
    assert load_value_sets([tmp_path / "o"])["Antipsychotic Medications"].attributes["drug"]["00054022020"] == "d0002"


def test_cli_imports_and_compute_records_which_lists_were_imported(workbooks: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "licensed"
    result = CliRunner().invoke(main, ["valuesets", "import", *map(str, workbooks), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 9 value set(s)" in result.output and "not mapped: 4 row(s)" in result.output
    res = tmp_path / "res"
    run = CliRunner().invoke(main, ["compute", "--measures", "SAA", "--valuesets", str(out), "--out", str(res), "--quiet"])
    assert run.exit_code == 0, run.output
    origins = {v["name"]: v["origin"] for v in json.loads((res / "manifest.json").read_text())["value_sets"]}
    assert origins["Schizophrenia"] == "ncqa-imported" and origins["Antipsychotic Medications"] == "ncqa-imported"
    assert origins["Nonacute Inpatient Stay"] == "public-substitute"


def test_imported_lists_drive_the_measure(workbooks: list[Path], tmp_path: Path) -> None:
    """The SAA deck with 80% exactly (4 in the denominator, 2 in the numerator; F20.9 visits, risperidone) on imported
    lists: the same result while they hold its codes; none of its members once the imported Schizophrenia list
    lacks F20.9."""
    from deckutil import deck_frames, load_deck

    from bhmeasures.valuesets.ncqa_import import import_workbooks

    deck = load_deck(Path(__file__).parent / "decks" / "SAA" / "pdc-exactly-80-percent-and-just-under.yaml")

    def total(valuesets: list[Path]) -> tuple:
        s = bhmeasures.compute_frames(deck_frames(deck), 2025, ["SAA"], valuesets=valuesets).summary
        return s.filter(s["stratifier"] == "total").select("denominator", "numerator", "exclusions").row(0)

    without = _workbook(tmp_path / "vsd-without-f209.xlsx", "Value Sets to Codes", VSD_HEADER,
                        [r for r in VSD_ROWS if r[3] != "F20.9"])
    import_workbooks(workbooks, tmp_path / "a")
    import_workbooks([without, workbooks[1]], tmp_path / "b")
    assert total([]) == (4, 2, 0)
    assert total([tmp_path / "a"]) == (4, 2, 0)
    assert total([tmp_path / "b"]) == (0, 0, 0)


@pytest.mark.parametrize(("sheet", "header", "message"), [
    ("Codes", VSD_HEADER, "no sheet 'Medication Lists to Codes' or 'Medications List to Codes' or 'Medications Lists to Codes' "
                          "or 'Value Sets to Codes'"),
    ("Value Sets to Codes", ["Name", "Code", "Code System"], "sheet 'Value Sets to Codes' lacks column(s) for list"),
])
def test_a_workbook_of_another_layout_is_one_clear_error(tmp_path: Path, sheet: str, header: list[str], message: str) -> None:
    book = _workbook(tmp_path / "other.xlsx", sheet, header, [("x", "F20.0", "ICD10CM")])
    result = CliRunner().invoke(main, ["valuesets", "import", str(book), "--out", str(tmp_path / "o")])
    assert result.exit_code == ExitCode.INPUT_INVALID
    assert message in result.output and "other.xlsx" in result.output
    assert not (tmp_path / "o").exists()
