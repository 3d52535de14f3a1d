"""A kidney named by its side alone after a kidney correction ("the left one needs the same", "and anteriorly on the
left one, 2 mm"): that kidney, whatever the model kept, and the text's one other direction its region. Measured
reason (a sixth clinician-language trial): after "right kidney is way undercalled, grow it 5 mm", "the left one
needs the same" grew the right kidney again (45 → 83 ml) and left the left kidney as it was."""

import re

from causal_sam_llm.agent.call_schema import ParsedCall
from causal_sam_llm.agent.organ_words import KIDNEYS, organs_mentioned
from causal_sam_llm.agent.region_words import regions_mentioned

SIDE_ONE = re.compile(r"\bthe\s+(left|right)\s+one\b", re.IGNORECASE)


def ground_side_one(call: ParsedCall, text: str, previous_call: ParsedCall | None, classes: list[str]) -> ParsedCall:
    """The kidney "the left one" names, after a kidney correction, where the text names no organ."""
    match = SIDE_ONE.search(text)
    if match is None or call.tool != "intervene_decoder" or previous_call is None:
        return call
    if previous_call.args.get("organ") not in KIDNEYS or organs_mentioned(text, classes):
        return call
    kidney = f"{match.group(1).lower()}_kidney"
    if kidney not in classes:
        return call
    args = {**call.args, "organ": kidney}
    regions = regions_mentioned(SIDE_ONE.sub(" ", text))  # "left" names the kidney, not a side of it
    if len(regions) == 1:
        args["region"] = regions[0]
    return ParsedCall(tool=call.tool, args=args)
