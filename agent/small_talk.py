"""Replies to words that are not a command: a bare "ok, do it" or "yes", a bare "no", thanks, and "hmm". The assistant
never holds a proposed change waiting for a yes, so none of these may change a mask. Measured reason (a
clinician-language trial, 2026-12-07): "ok do it" with nothing proposed had segmented every organ again, and "yes",
"no" and "thanks, that's all" had been told "I did not understand that"."""

import re

from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall

_YES = (
    r"(?:ok(?:ay)?|k|yes|yep|yeah|yup|sure|alright|all\s+right|fine|go\s+ahead|do\s+it|do\s+that|please\s+do"
    r"|proceed|confirm(?:ed)?|go|apply\s+it|sounds\s+good)"
)
CONFIRMATION = re.compile(rf"^\s*{_YES}(?:[\s,.!]+(?:{_YES}|please|then|now))*[\s.!]*$", re.IGNORECASE)
REFUSAL = re.compile(r"^\s*(?:no|nope|nah|no\s+thanks?|no\s+thank\s+you|cancel)[\s.!]*$", re.IGNORECASE)
THANKS = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|great|good|perfect|cool)[\s,.!]+)?(?:thanks?(?:\s+you)?|thx|cheers|ty)"
    r"(?:[\s,.!]+(?:that'?s\s+(?:all|it)|that\s+is\s+(?:all|it)|done|bye))?[\s.!]*$"
    r"|^\s*(?:that'?s\s+(?:all|it)|that\s+is\s+(?:all|it)|done|bye|goodbye)[\s.!]*$"
    # "great, that's better", "perfect": an acknowledgement, not a request
    r"|^\s*(?:(?:great|perfect|good|nice|excellent|much\s+better|better|looks\s+good|that'?s\s+better)[\s,.!]*)+$",
    re.IGNORECASE,
)

# "hmm", "?", "huh": no request at all (the model had answered as a chatbot: "provide more context")
NO_REQUEST = re.compile(r"^\s*(?:h+m+|u+m+|huh|eh|\?+|\.+)[\s?.!]*$", re.IGNORECASE)

NOTHING_PROPOSED = (
    "Nothing is waiting to be done: I do not hold a proposed change for a yes. Say the command itself, e.g. "
    "'grow the spleen a little' or 'undo'."
)
NOTHING_CHANGED = (
    "Nothing was changed, and the last change stays as it is: say 'undo' to take it back, or what to change instead, "
    "e.g. 'shrink the liver a touch'."
)
WHAT_NEXT = (
    "Nothing was changed. Say what to do next, e.g. 'measure the dice', 'grow the spleen a little at the top' or "
    "'undo'."
)
WELCOME = (
    "Glad to help. Every mask version is kept in the session folder; 'export' writes the current masks, and "
    "re-opening the session resumes it."
)


def small_talk_reply(text: str) -> ParsedCall | None:
    """The answer to a bare confirmation, refusal or thanks; None for anything else."""
    replies = ((CONFIRMATION, NOTHING_PROPOSED), (REFUSAL, NOTHING_CHANGED), (THANKS, WELCOME), (NO_REQUEST, WHAT_NEXT))
    for pattern, answer in replies:
        if pattern.search(text):
            return ParsedCall(tool=CLARIFY, args={"question": answer})
    return None
