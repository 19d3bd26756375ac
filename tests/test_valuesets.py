"""Value sets are data: bundled public substitutes, replaceable by a user's (licensed) files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import bhmeasures
from bhmeasures.errors import SpecError

FRAMES = {
    "eligibility": pl.DataFrame({"member_id": ["M1"], "birth_date": ["1980-01-01"], "gender": ["female"],
                                 "enrollment_start_date": ["2025-01-01"], "enrollment_end_date": ["2025-12-31"]}),
    "medical_claim": pl.DataFrame({
        "claim_id": ["IP1", "OP1"], "claim_line_number": ["1", "1"], "claim_type": ["institutional", "professional"],
        "member_id": ["M1", "M1"], "claim_start_date": ["2025-03-01", "2025-03-08"], "claim_end_date": ["2025-03-05", "2025-03-08"],
        "bill_type_code": ["111", None], "revenue_center_code": ["0100", None], "hcpcs_code": [None, "90834"],
        "place_of_service_code": [None, "11"], "diagnosis_code_1": ["F32.9", "F32.9"]}),
    "pharmacy_claim": pl.DataFrame(schema={c: pl.String for c in ("claim_id", "member_id", "dispensing_date", "ndc_code", "days_supply")}),
}
HEADER = "value_set,version,code_system,code,description,provenance,source\n"


def test_every_bundled_value_set_says_where_it_came_from() -> None:
    library = bhmeasures.value_sets()
    assert len(library.names()) >= 50
    for name in library.names():
        vs = library[name]
        assert vs.size() > 0, name
        assert vs.provenance <= {"public-substitute", "public-vsac", "public-code-system"}, (name, vs.provenance)


def test_user_value_set_replaces_the_bundled_one(tmp_path: Path) -> None:
    before = bhmeasures.compute_frames(FRAMES, 2025, ["FUH"]).detail
    assert before.filter(pl.col("event_id") == "IP1")["denominator"].all()
    licensed = tmp_path / "licensed"
    licensed.mkdir()
    # a (pretend) licensed Mental Illness list without depression: the discharge no longer qualifies
    (licensed / "mi.csv").write_text(HEADER + "Mental Illness,bhm-public-2025.1,ICD10CM,F20*,schizophrenia,licensed,NCQA VSD\n")
    after = bhmeasures.compute_frames(FRAMES, 2025, ["FUH"], valuesets=[licensed]).detail
    assert after.filter(pl.col("event_id") == "IP1").is_empty()


def test_a_spec_cannot_run_on_a_missing_value_set(tmp_path: Path) -> None:
    spec = tmp_path / "FUH.yaml"
    from bhmeasures.bundled import specs_dir

    spec.write_text((specs_dir() / "FUH.yaml").read_text().replace(
        "{name: Telephone Visits, version: bhm-public-2025.1}", "{name: Telephone Visit Codes, version: bhm-public-2025.1}").replace(
        "code_in: Telephone Visits", "code_in: Telephone Visit Codes"))
    with pytest.raises(SpecError, match="'Telephone Visit Codes' is not in the loaded value set files"):
        bhmeasures.compute_frames(FRAMES, 2025, ["FUH"], specs=[spec])


def test_a_value_set_file_read_as_written(tmp_path: Path) -> None:
    # blank lines are skipped, missing trailing fields are empty, columns may come in any order, and every
    # bad row is reported with its line
    from bhmeasures.valuesets.store import load_value_sets

    (tmp_path / "a.csv").write_text(
        "code,value_set,code_system,version,provenance,attributes\n"
        "F329,Depression,ICD10CM,v1,licensed,\n"
        "\n"
        "F33*,Depression,icd10cm,v1\n"  # no provenance, no attributes
        "12496120803,Buprenorphine,NDC,v1,,drug=buprenorphine\n")
    library = load_value_sets([tmp_path])
    assert library["Depression"].codes == {"ICD10CM": {"F329"}} and library["Depression"].prefixes == {"ICD10CM": {"F33"}}
    assert library["Depression"].provenance == {"licensed", "unspecified"}
    assert library["Buprenorphine"].attributes == {"drug": {"12496120803": "buprenorphine"}}
    (tmp_path / "a.csv").write_text("value_set,version,code_system,code\nX,v1,ICD10CM,12\n\nX,v1,BOGUS,F32\n")
    with pytest.raises(SpecError) as e:
        load_value_sets([tmp_path])
    assert [i.line for i in e.value.issues] == [2, 4]
