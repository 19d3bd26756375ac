"""Value-set membership as bit masks: one lookup per code column answers every value set at once."""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass, field

import polars as pl

from bhmeasures.valuesets import ValueSetLibrary

# code system -> the family of input columns that carries it
SYSTEM_FAMILY = {
    "ICD10CM": "dx", "CPT": "hcpcs", "HCPCS": "hcpcs", "UBREV": "rev", "UBTOB": "tob",
    "POS": "pos", "ICD10PCS": "pcs", "NUCC": "taxonomy", "NDC": "ndc", "LOINC": "loinc",
}
# the code systems each input table carries: a value set with none of them can never match a row of that table
TABLE_SYSTEMS = {
    "medical_claim": frozenset({"ICD10CM", "CPT", "HCPCS", "UBREV", "UBTOB", "POS", "ICD10PCS", "NUCC"}),
    "pharmacy_claim": frozenset({"NDC"}),
    "observation": frozenset({"LOINC"}),
}
BITS = 64
# Fixed-width code systems whose prefixes can be expanded to every completion: (width, alphabet).
EXPANDABLE = {"UBTOB": (3, string.digits + string.ascii_uppercase), "UBREV": (4, string.digits), "POS": (2, string.digits)}
MAX_EXPANSION = 2000
FEW_PREFIXES = 8


def spellings(system: str, code: str) -> list[str]:
    """Every spelling of an exact code that may appear in the data."""
    return _variants(system, code, prefix=False)


def ndc_layouts(code: str) -> set[str]:
    """The FDA 10-digit layouts with dashes that convert to an 11-digit NDC by padding one segment:
    5-4-2 always; 4-4-2 when the labeler starts with 0; 5-3-2 when the product does; 5-4-1 when the package does."""
    if len(code) != 11 or not code.isdigit():
        return set()
    labeler, product, package = code[:5], code[5:9], code[9:]
    out = {f"{labeler}-{product}-{package}"}
    if labeler[0] == "0":
        out.add(f"{labeler[1:]}-{product}-{package}")
    if product[0] == "0":
        out.add(f"{labeler}-{product[1:]}-{package}")
    if package[0] == "0":
        out.add(f"{labeler}-{product}-{package[1:]}")
    return out


# code systems whose letters mean the same in either case (f32.9 is F32.9)
CASELESS = ("ICD10CM", "ICD10PCS", "CPT", "HCPCS", "NUCC", "UBTOB")


def _variants(system: str, code: str, prefix: bool) -> list[str]:
    """Spellings under which a code may appear in claims, each with one meaning: ICD-10 with or without the
    dot, in either case; bill type with its leading 0; codes that lost their leading zeros; NDCs in the
    dashed FDA layouts. Looking the spellings up costs nothing per row, unlike rewriting every code."""
    out = {code}
    if system in ("ICD10CM", "ICD10PCS"):
        out.add(code.replace(".", ""))
    elif system == "UBTOB" and (prefix or len(code) == 3):
        out.add("0" + code)
    elif system in ("UBREV", "POS", "NDC") and not prefix and code.lstrip("0"):
        # a spreadsheet or integer column may have dropped the leading zeros ("450", "2")
        out.add(code.lstrip("0"))
    if system == "NDC" and not prefix:
        out |= ndc_layouts(code)
    if system in CASELESS:
        out |= {v.lower() for v in out}
    return sorted(out)


def _expand(system: str, prefix: str) -> list[str] | None:
    """Every code a prefix stands for, when the code system is fixed-width and the list stays short."""
    if system not in EXPANDABLE:
        return None
    width, alphabet = EXPANDABLE[system]
    free = width - len(prefix)
    if free < 0 or len(alphabet) ** free > MAX_EXPANSION:
        return None
    return [prefix + "".join(t) for t in itertools.product(alphabet, repeat=free)]


@dataclass
class CodeIndex:
    """Assigns every (family, value set) pair a chunk and bit, and builds the mask expressions."""

    library: ValueSetLibrary
    bits: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _count: dict[str, int] = field(default_factory=dict)
    # (family, chunk) -> its lookup tables, built once (a scan asks for them for every dictionary it reads)
    _built: dict[tuple[str, int], tuple[dict[str, int], dict[str, int]]] = field(default_factory=dict)
    _lookups: dict[tuple[str, str, int], tuple[pl.Series, pl.Enum] | None] = field(default_factory=dict)

    def register(self, value_set: str) -> None:
        for system in self.library[value_set].systems:
            family = SYSTEM_FAMILY[system]
            if (family, value_set) not in self.bits:
                n = self._count.get(family, 0)
                self.bits[(family, value_set)] = divmod(n, BITS)
                self._count[family] = n + 1
                self._built.clear()
                self._lookups.clear()

    def families(self, value_set: str) -> list[str]:
        return sorted({SYSTEM_FAMILY[s] for s in self.library[value_set].systems})

    def chunks(self, family: str) -> int:
        n = self._count.get(family, 0)
        return (n + BITS - 1) // BITS

    def codes_of(self, value_set: str, family: str) -> tuple[set[str], set[str]]:
        """(exact spellings, prefixes that could not be expanded) of a value set within one family."""
        vs = self.library[value_set]
        exact: set[str] = set()
        prefixes: set[str] = set()
        for system in vs.systems:
            if SYSTEM_FAMILY[system] != family:
                continue
            for code in vs.codes.get(system, ()):
                exact.update(_variants(system, code, prefix=False))
            for code in vs.prefixes.get(system, ()):
                for variant in _variants(system, code, prefix=True):
                    expanded = _expand(system, variant) if not (system == "UBTOB" and variant.startswith("0")) else None
                    if expanded is None and system == "UBTOB":  # '0'-led 4-digit bill types
                        expanded = [variant + c for c in EXPANDABLE["UBTOB"][1]] if len(variant) == 3 else None
                    if expanded is None:
                        prefixes.add(variant)
                    else:
                        exact.update(expanded)
        return exact, prefixes

    def _tables(self, family: str, chunk: int) -> tuple[dict[str, int], dict[str, int]]:
        if (family, chunk) not in self._built:
            self._built[(family, chunk)] = self._build_tables(family, chunk)
        return self._built[(family, chunk)]

    def _build_tables(self, family: str, chunk: int) -> tuple[dict[str, int], dict[str, int]]:
        exact: dict[str, int] = {}
        prefixes: dict[str, int] = {}
        for (fam, name), (c, bit) in self.bits.items():
            if fam != family or c != chunk:
                continue
            codes, heads = self.codes_of(name, family)
            for code in codes:
                exact[code] = exact.get(code, 0) | (1 << bit)
            for head in heads:
                prefixes[head] = prefixes.get(head, 0) | (1 << bit)
        return exact, prefixes

    def _exact_lookup(self, family: str, chunk: int) -> tuple[pl.Series, pl.Enum] | None:
        key = ("exact", family, chunk)
        if key not in self._lookups:
            exact, _ = self._tables(family, chunk)
            keys = sorted(exact)
            self._lookups[key] = (pl.Series([exact[k] for k in keys], dtype=pl.UInt64), pl.Enum(keys)) if keys else None
        return self._lookups[key]

    def mask(self, family: str, chunk: int, column: pl.Expr) -> pl.Expr:
        """UInt64 mask of the value sets (of this chunk) that contain the code in `column`."""
        _, prefixes = self._tables(family, chunk)
        parts: list[pl.Expr] = []
        lookup = self._exact_lookup(family, chunk)
        if lookup is not None:
            # a cast to an Enum of the known codes is one hash probe; unknown codes become null
            masks, enum = lookup
            parts.append(pl.lit(masks).gather(column.cast(enum, strict=False).to_physical()))
        if len(prefixes) <= FEW_PREFIXES:
            parts += [pl.when(column.str.starts_with(p)).then(pl.lit(m, dtype=pl.UInt64)) for p, m in sorted(prefixes.items())]
        else:
            by_length: dict[int, dict[str, int]] = {}
            for p, m in prefixes.items():
                by_length.setdefault(len(p), {})[p] = m
            for length, table in sorted(by_length.items()):
                parts.append(column.str.slice(0, length).replace_strict(
                    list(table), list(table.values()), default=0, return_dtype=pl.UInt64))
        if not parts:
            return pl.lit(0, dtype=pl.UInt64)
        out = parts[0].fill_null(0)
        for part in parts[1:]:
            out = out | part.fill_null(0)
        return out

    def test(self, family: str, value_set: str, mask_column: str) -> pl.Expr:
        chunk, bit = self.bits[(family, value_set)]
        return (pl.col(f"{mask_column}_{chunk}") & pl.lit(1 << bit, dtype=pl.UInt64)) != 0
