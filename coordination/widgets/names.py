"""How names compare: agreement numbers without spaces, unit names as offices write them."""

from coordination.unit_names import unit_key

__all__ = ["agreement_key", "unit_key"]


def agreement_key(number: str) -> str:
    """Agreement numbers compare without case and spaces: “01/QC-UBND” = “01 / qc-ubnd”."""
    return "".join(number.split()).lower()
