"""The kidneys' volumes together, when a volume question names both ("what's the volume of both kidneys?"): a fifth
clinician-language trial had been given every organ's volume and no total (282 ml, summed by hand)."""

import re

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.tools.volume_text import ml

BOTH_KIDNEYS = re.compile(r"\b(?:both|the\s+two|two|combined|total)\s+(?:of\s+the\s+)?kidneys?\b|\bkidneys\b", re.I)
KIDNEYS = ("right_kidney", "left_kidney")


def both_kidneys_note(text: str, call: ParsedCall, data: dict) -> str:
    """' Both kidneys together: 282 ml.' after a volume measure naming both; else ''."""
    volumes = data.get("volume_ml", {}) if call.tool == "measure" else {}
    if not BOTH_KIDNEYS.search(text) or not all(k in volumes for k in KIDNEYS):
        return ""
    return f" Both kidneys together: {ml(sum(volumes[k] for k in KIDNEYS))}."
