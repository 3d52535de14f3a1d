"""Requests about the session rather than a mask's edge, which the model had answered with another tool (a
clinician-language trial, 2026-12-07): "start over" had stepped forward (`redo`) or re-loaded the study into a new
masks folder, "which organ is worst?" had been asked back, "is the spleen better now?" answered with an
invented assessment or the spleen's slices, and "load benchmark:does-not-exist" had been told "I did
not understand that" instead of being tried and refused with the reason."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall
from causal_sam_llm.agent.keyword_parser import keyword_parse
from causal_sam_llm.agent.organ_words import organs_mentioned

# "start over", "let's start again", "from scratch": back to the segmentation before any correction
START_OVER = re.compile(r"\bstart\s+(?:over|again|afresh)\b|\bfrom\s+scratch\b|\bback\s+to\s+square\s+one\b", re.I)
# "which organ is worst?", "what is the best segmented organ?": a comparison of the organs' Dice
RANKING = re.compile(
    r"\b(?:which|what)\b.{0,30}\b(?:worst|best|poorest|weakest|least\s+accurate|most\s+accurate)\b", re.IGNORECASE
)
# "is the spleen better now?", "did that improve the liver?": a question the Dice answers (the model had answered one
# with an assessment of its own, "The spleen is still too small at the top", where the Dice had gone up)
IMPROVED = re.compile(r"\b(?:better|worse|improv\w*|any\s+good)\b", re.IGNORECASE)
# "load X", "please open X": a study the text names, whatever the model made of the name
LOAD = re.compile(r"^\s*(?:please\s+)?(?:load|open)\s+\S", re.IGNORECASE)


def ground_session_request(call: ParsedCall, text: str, classes: list[str]) -> ParsedCall:
    """The call a session request asks for, where the model gave another."""
    if START_OVER.search(text) and call.tool in ("undo", "redo", "go_to_version", "load_study", CLARIFY):
        return ParsedCall(tool="go_to_version", args={"version": 0})
    if RANKING.search(text) and call.tool == CLARIFY:
        return ParsedCall(tool="measure", args={"metric": "dice", "organ": "all", "slices": None})
    if IMPROVED.search(text) and text.rstrip().endswith("?") and call.tool in (CLARIFY, "measure"):
        named = organs_mentioned(text, classes)
        organ = named[0] if len(named) == 1 else "all"
        return ParsedCall(tool="measure", args={"metric": "dice", "organ": organ, "slices": None})
    if LOAD.search(text) and call.tool == CLARIFY:
        guess = keyword_parse(text, [], None)
        return guess if guess.tool == "load_study" else call
    return call
