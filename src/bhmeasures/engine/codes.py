"""Value-set membership as bit masks: one hash lookup per code column answers every value set at once."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from bhmeasures.valuesets import ValueSetLibrary

# code system -> the family of input columns that carries it
SYSTEM_FAMILY = {
    "ICD10CM": "dx", "CPT": "hcpcs", "HCPCS": "hcpcs", "UBREV": "rev", "UBTOB": "tob",
    "POS": "pos", "ICD10PCS": "pcs", "NUCC": "taxonomy", "NDC": "ndc", "LOINC": "loinc",
}
BITS = 63  # keep masks in the positive range of Int64-compatible UInt64 arithmetic


def _variants(system: str, code: str, prefix: bool) -> list[str]:
    """Spellings under which a code may appear in claims (ICD-10 with or without the dot, bill type with its 0)."""
    if system in ("ICD10CM", "ICD10PCS"):
        return sorted({code, code.replace(".", "")})
    if system == "UBTOB":
        return [code, "0" + code] if (prefix or len(code) == 3) else [code]
    if system in ("UBREV", "POS", "NDC") and not prefix and code.lstrip("0"):
        # a spreadsheet or integer column may have dropped the leading zeros ("450", "2")
        return sorted({code, code.lstrip("0")})
    return [code]


@dataclass
class CodeIndex:
    """Assigns every (family, value set) pair a chunk and bit, and builds the mask expressions."""

    library: ValueSetLibrary
    bits: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)

    def register(self, value_set: str) -> None:
        for system in self.library[value_set].systems:
            family = SYSTEM_FAMILY[system]
            if (family, value_set) not in self.bits:
                n = self._count.get(family, 0)
                self.bits[(family, value_set)] = divmod(n, BITS)
                self._count[family] = n + 1

    def families(self, value_set: str) -> list[str]:
        return sorted({SYSTEM_FAMILY[s] for s in self.library[value_set].systems})

    def chunks(self, family: str) -> int:
        n = self._count.get(family, 0)
        return (n + BITS - 1) // BITS

    def _tables(self, family: str, chunk: int) -> tuple[dict[str, int], dict[int, dict[str, int]]]:
        exact: dict[str, int] = {}
        by_length: dict[int, dict[str, int]] = {}
        for (fam, name), (c, bit) in self.bits.items():
            if fam != family or c != chunk:
                continue
            vs = self.library[name]
            for system in vs.systems:
                if SYSTEM_FAMILY[system] != family:
                    continue
                for code in vs.codes.get(system, ()):
                    for v in _variants(system, code, prefix=False):
                        exact[v] = exact.get(v, 0) | (1 << bit)
                for code in vs.prefixes.get(system, ()):
                    for v in _variants(system, code, prefix=True):
                        table = by_length.setdefault(len(v), {})
                        table[v] = table.get(v, 0) | (1 << bit)
        return exact, by_length

    def mask(self, family: str, chunk: int, column: pl.Expr) -> pl.Expr:
        """UInt64 mask of the value sets (of this chunk) that contain the code in `column`."""
        exact, by_length = self._tables(family, chunk)
        parts: list[pl.Expr] = []
        if exact:
            parts.append(column.replace_strict(list(exact), list(exact.values()), default=0, return_dtype=pl.UInt64))
        for length, table in sorted(by_length.items()):
            parts.append(column.str.slice(0, length).replace_strict(
                list(table), list(table.values()), default=0, return_dtype=pl.UInt64))
        if not parts:
            return pl.lit(0, dtype=pl.UInt64)
        out = parts[0]
        for p in parts[1:]:
            out = out | p
        return out.fill_null(0)

    def test(self, family: str, value_set: str, mask_column: str) -> pl.Expr:
        chunk, bit = self.bits[(family, value_set)]
        return (pl.col(f"{mask_column}_{chunk}") & (1 << bit)) != 0
