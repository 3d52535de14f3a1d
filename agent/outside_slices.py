"""Slices said as the ones to keep ("keep only slices 10 to 19 of the spleen", "wipe everything outside slices 10 to
19"): what goes is the organ on the slices outside that range, two runs that one correction cannot name, so it is
asked back as the two removals that do it. Measured reason (a sixth clinician-language trial): both texts were
removals ON slices 10 to 19, which deleted the real spleen (Dice 38.4 → 0.0) and kept the junk outside."""

import re

from causal_sam_llm.agent.call_schema import ParsedCall, clarify

KEEP_ONLY = re.compile(
    r"\b(?:outside(?:\s+of)?|except(?:\s+(?:on|for))?|other\s+than|apart\s+from|beyond)\s+(?:the\s+)?slices?\s+(\d+)"
    r"\s*(?:to|-|–|through|and)\s*(\d+)"
    r"|\bkeep\s+(?:only|just)\s+(?:the\s+\w+\s+on\s+)?slices?\s+(\d+)\s*(?:to|-|–|through)\s*(\d+)",
    re.IGNORECASE,
)


def ground_outside_slices(call: ParsedCall, text: str) -> ParsedCall:
    """A correction that names the slices to keep is asked back as the removals above and below them."""
    match = KEEP_ONLY.search(text)
    if match is None or call.tool not in ("intervene_decoder", "segment"):  # the model had also segmented there
        return call
    first, last = sorted(int(number) for number in match.groups() if number is not None)
    organ = str(call.args.get("organ", "all")).replace("_", " ")
    organ = "organ" if organ == "all" else organ
    return clarify(
        f"To keep the {organ} on slices {first} to {last} only, take it off the slices on either side, one "
        f"correction each: 'remove the {organ} below slice {first}', then 'remove the {organ} above slice {last}'. "
        "Nothing was changed."
    )
