"""The input contract: tables, their required and optional columns, and column types."""

from __future__ import annotations

DATE, STR, INT, FLOAT, BOOL = "date", "str", "int", "float", "bool"

DX_COLUMNS = tuple(f"diagnosis_code_{i}" for i in range(1, 26))
PCS_COLUMNS = tuple(f"procedure_code_{i}" for i in range(1, 26))
MODIFIER_COLUMNS = tuple(f"hcpcs_modifier_{i}" for i in range(1, 6))

# table -> (required columns, optional columns); each column -> type
TABLES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "eligibility": (
        {"member_id": STR, "birth_date": DATE, "gender": STR, "enrollment_start_date": DATE, "enrollment_end_date": DATE},
        {"death_date": DATE, "race": STR, "ethnicity": STR, "payer": STR, "payer_type": STR, "plan": STR,
         "medical_benefit": BOOL, "pharmacy_benefit": BOOL, "mh_benefit": BOOL, "cd_benefit": BOOL,
         "foster_care": BOOL},  # the span's aid category is foster care (see the README for mapping)
    ),
    "medical_claim": (
        {"claim_id": STR, "claim_line_number": INT, "claim_type": STR, "member_id": STR,
         "claim_start_date": DATE, "claim_end_date": DATE, "diagnosis_code_1": STR},
        {"claim_line_start_date": DATE, "claim_line_end_date": DATE, "admission_date": DATE, "discharge_date": DATE,
         "discharge_disposition_code": STR, "bill_type_code": STR, "place_of_service_code": STR,
         "revenue_center_code": STR, "hcpcs_code": STR,
         **{c: STR for c in MODIFIER_COLUMNS}, **{c: STR for c in DX_COLUMNS[1:]}, **{c: STR for c in PCS_COLUMNS},
         "rendering_npi": STR, "billing_npi": STR, "facility_npi": STR, "rendering_taxonomy_code": STR,
         "service_unit_quantity": FLOAT, "paid_amount": FLOAT, "allowed_amount": FLOAT},
    ),
    "pharmacy_claim": (
        {"claim_id": STR, "member_id": STR, "dispensing_date": DATE, "ndc_code": STR, "days_supply": INT},
        {"claim_line_number": INT, "quantity": FLOAT, "prescribing_provider_npi": STR,
         "dispensing_provider_npi": STR, "paid_amount": FLOAT, "allowed_amount": FLOAT},
    ),
    "attribution": ({"member_id": STR, "entity_id": STR, "start_date": DATE, "end_date": DATE}, {}),
    "provider": ({"npi": STR, "taxonomy_code": STR}, {}),
    "observation": ({"member_id": STR, "observation_date": DATE, "code_type": STR, "code": STR, "result": STR}, {}),
}

REQUIRED_TABLES = ("eligibility", "medical_claim", "pharmacy_claim")

# Codes whose leading zeros a spreadsheet may have dropped: restore them to their fixed width.
ZERO_PADDED = {"revenue_center_code": 4, "place_of_service_code": 2, "ndc_code": 11}

# Codes whose letters mean the same in either case (code systems spell them in upper case). Text files
# are rewritten row by row anyway, so they are upper-cased there.
UPPER_CASE_CODES = frozenset({
    *DX_COLUMNS, *PCS_COLUMNS, *MODIFIER_COLUMNS, "hcpcs_code", "bill_type_code", "rendering_taxonomy_code",
    "taxonomy_code",
})

# Ids matched across tables: every column of a group must hold them with the same type, since the
# integer 7 and the text "007" cannot be matched without guessing.
ID_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "member_id": tuple((t, "member_id") for t in ("eligibility", "medical_claim", "pharmacy_claim", "attribution", "observation")),
    "npi": (("provider", "npi"), ("medical_claim", "rendering_npi"), ("medical_claim", "billing_npi")),
}

# The column that identifies a row in messages (besides its line or row number).
ROW_ID = {"eligibility": "member_id", "medical_claim": "claim_id", "pharmacy_claim": "claim_id",
          "attribution": "member_id", "provider": "npi", "observation": "member_id"}

def column_types(table: str) -> dict[str, str]:
    required, optional = TABLES[table]
    return {**required, **optional}
