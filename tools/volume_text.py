"""Volumes as the tools and the chat say them: whole millilitres from 10 ml up, one decimal below — an organ on the
one slice of a single-slice study holds a few ml, and "0 ml" would read as absent — and a change with as many
decimals as it takes to show that it is one ("1.0 → 1.0 ml" said nothing)."""

MAX_DIGITS = 2


def _digits(*values: float) -> int:
    return 0 if min(values) >= 9.95 else 1  # 9.95 and up print as "10" with one decimal too


def ml(value: float) -> str:
    """'1520 ml', '7.3 ml', '0.2 ml'."""
    return f"{value:.{_digits(value)}f} ml"


def ml_change(before: float, after: float, least_digits: int | None = None) -> str:
    """'7.3 → 12.9 ml'; `least_digits` decimals at least (default as `ml`), more while the two read the same."""
    digits = _digits(before, after) if least_digits is None else least_digits
    while digits < MAX_DIGITS and before != after and f"{before:.{digits}f}" == f"{after:.{digits}f}":
        digits += 1
    return f"{before:.{digits}f} → {after:.{digits}f} ml"
