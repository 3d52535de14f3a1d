"""A volume question naming both kidneys is answered with their total too (a fifth clinician-language trial)."""

from causal_sam_llm.agent.both_kidneys import both_kidneys_note
from causal_sam_llm.agent.call_schema import ParsedCall

MEASURE = ParsedCall(tool="measure", args={"metric": "volume_ml", "organ": "all", "slices": None})
VOLUMES = {"volume_ml": {"liver": 1832.0, "spleen": 227.0, "right_kidney": 141.2, "left_kidney": 140.9}}


def test_both_kidneys_volume_is_given_as_their_total():
    assert (
        both_kidneys_note("what's the volume of both kidneys?", MEASURE, VOLUMES) == " Both kidneys together: 282 ml."
    )
    assert both_kidneys_note("how big are the kidneys", MEASURE, VOLUMES) == " Both kidneys together: 282 ml."
    assert both_kidneys_note("how big is the left kidney", MEASURE, VOLUMES) == ""
    one = {"volume_ml": {"left_kidney": 140.9}}
    assert both_kidneys_note("volume of both kidneys", MEASURE, one) == ""
