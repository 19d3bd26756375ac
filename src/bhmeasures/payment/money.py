"""Exact money: every amount is a Fraction until it becomes a line item, then whole cents.

The rounding rule (one, everywhere): a line item is rounded once, half to even, to the cent.
A pool is rounded to the cent first and then split among its measures by largest remainder, so the
measure allotments add up to the pool exactly. Totals are sums of line items, never rounded again.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

# Thousands separators are accepted only where they are well formed (1,234,567.89): "1,5" or "2,50" is
# a decimal comma, and reading it as 15 or 250 would pay wrong dollars without a word.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")

ROUNDING_RULE = (
    "Amounts are computed exactly (fractions) and each line item is rounded once, half to even, to the cent. "
    "A pool is rounded to the cent, then split among its measures by largest remainder so the allotments sum to "
    "the pool. Totals are sums of line items."
)


def as_fraction(value: object) -> Fraction:
    """Explicit conversion: floats by their shortest repr (the decimal a person typed), never by binary value."""
    if isinstance(value, bool):
        raise TypeError("a number is needed, not true/false")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return Fraction(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        return Fraction(value)
    if isinstance(value, str):
        return _parse(value)
    raise TypeError(f"{value!r} is not a number")


def _parse(value: str) -> Fraction:
    text = value.strip()
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise ValueError(f"'{value}' is not a number: a comma may only separate thousands (1,234.50); "
                             "write decimals with a point (1.5)")
        text = text.replace(",", "")
    if not text or "_" in text or any(c.isspace() for c in text):
        raise ValueError(f"'{value}' is not a number (write e.g. 0.05 or 1/6)")
    try:
        return Fraction(text)  # accepts "0.05", "1/6", "4e-05"
    except (ValueError, ZeroDivisionError) as e:
        raise ValueError(f"'{value}' is not a number (write e.g. 0.05 or 1/6)") from e


def to_cents(amount: Fraction) -> int:
    """Dollars -> whole cents, half to even (Fraction's round is exact and banker's)."""
    return round(amount * 100)


def round_cents(cents: Fraction) -> int:
    """An exact amount already in cents -> whole cents, half to even."""
    return round(cents)


def cents_of(amount: Fraction) -> int:
    """Whole cents of an amount that must already be in cents (inputs like capitation revenue)."""
    cents = amount * 100
    if cents.denominator != 1:
        raise ValueError(f"{float(amount)} has fractions of a cent")
    return int(cents)


def decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def split_cents(total: int, weights: list[Fraction]) -> list[int]:
    """Split `total` cents in proportion to weights so the parts sum to `total` (largest remainder, ties by order)."""
    s = sum(weights, Fraction(0))
    if total == 0 or s == 0:
        return [0] * len(weights)
    exact = [total * w / s for w in weights]
    floors = [int(e) if e >= 0 else -int(-e) for e in exact]  # toward zero; totals here are non-negative
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def money(cents: int | None) -> str:
    if cents is None:
        return "-"
    sign = "-" if cents < 0 else ""
    whole, cent = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{cent:02d}"


def pct(value: Fraction | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{float(value) * 100:.{places}f}%"


def number(value: Fraction | None, places: int = 2) -> str:
    if value is None:
        return "-"
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.{places}f}"


def count(value: Fraction | None) -> str:
    """A count as written: 1,234 (or 1,234.5 when it is not whole, like member-years)."""
    if value is None:
        return "-"
    return f"{value.numerator:,}" if value.denominator == 1 else f"{float(value):,.6g}"


def exact(value: Fraction) -> str:
    """A rate or share as a percentage, exact when it fits in four decimals (43.75%), else marked cut (45.8333...%)."""
    x = value * 100
    for places in range(5):
        if (x * 10**places).denominator == 1:
            return f"{float(x):.{places}f}%"
    return f"{float(x):.4f}...%"


def score(value: Fraction) -> str:
    """A score in [0, 1] as a decimal, exact when it fits in six places (0.767), else marked cut (0.833333...)."""
    return f"{float(value):.6g}" if (value * 10**6).denominator == 1 else f"{float(value):.6f}..."
