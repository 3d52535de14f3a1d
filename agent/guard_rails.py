"""Checks around the LLM. Before it: empty or oversized text, organs this model cannot segment, and a kidney without
a side get a plain answer without calling the model. After it: a call that names an organ the conversation never
named or implied becomes a question, not a guess, and a correction's strength is the amount the text states rather
than the model's guess (when it states none: left out of an expand or shrink, for the tool to size to the organ, and
the default otherwise); so are the steps and version numbers of undo and redo."""

import re

from causal_sam_llm.agent.amount_words import (
    FULL_STRENGTH_MM,
    SMALL,
    implausible_amount,
    repeats_earlier_request,
    said_strength,
    stated_amount,
    without_amount_numbers,
)
from causal_sam_llm.agent.call_schema import CLARIFY, ParsedCall, clarify
from causal_sam_llm.agent.history_words import asks_to_redo, stated_steps, stated_version
from causal_sam_llm.agent.keyword_parser import EXTENT_QUESTION, keyword_parse
from causal_sam_llm.agent.negation_words import NEGATED_ACTION, negated_calls, says_plainly_what_instead
from causal_sam_llm.agent.organ_words import (
    KIDNEYS,
    OTHER_KIDNEY,
    STANDS_FOR,
    bare_kidney,
    both_kidneys,
    mentions_kidney,
    organs_mentioned,
    other_models_organs,
    refers_back,
    unsupported_mentioned,
)
from causal_sam_llm.agent.region_words import (
    CONTINUATION,
    OPPOSITE_REGION,
    OTHER_SIDE,
    leaves_region_to_the_model,
    names_whole_organ,
    regions_mentioned,
)
from causal_sam_llm.agent.slice_distance import without_slice_counts
from causal_sam_llm.agent.slice_words import scattered_slices, stated_slices, with_digits
from causal_sam_llm.agent.small_talk import small_talk_reply
from causal_sam_llm.agent.study_words import stated_destination, stated_labels
from causal_sam_llm.segmentation.checkpoint_io import shipped_model_for

MAX_COMMAND_CHARS = 1000
# Text that tries to change the assistant's instructions or act outside segmentation never reaches the model: the
# model has answered such text with a correction of the last organ (ground keeps an unnamed organ as the previous one)
INSTRUCTION_OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompt|rules)\b|\brm\s+-rf\b"
    r"|\bdelete\s+(all\s+)?(the\s+)?files\b|\bsystem\s+prompt\b",
    re.IGNORECASE,
)
# "leave the spleen alone", "keep the liver as it is", "don't touch the spleen", "never mind": no change wanted. The
# model had answered "leave the spleen alone" by cutting the spleen back 15 mm (a clinician-language trial).
LEAVE_ALONE = re.compile(
    r"\b(leave|keep)\b.{0,40}\b(alone|as\s+(?:it|they)\s+(?:is|are|was|were)|as\s+is|unchanged|untouched)\b"
    r"|\b(?:do\s+not|don'?t|dont)\s+(?:touch|change|modify|edit)\b|\bnever\s*mind\b|^\s*forget\s+(?:it|that)\b"
    # a text that ends by saying the organ is right ("the liver is fine"): the model had answered it with "The liver
    # is already the correct size", and after it copied that answer for "make it bigger" (a clinician-language trial)
    r"|\b(?:is|are|looks?|seems?)\s+(?:fine|ok|okay|good|great|right|correct|perfect)(?:\s+now)?\s*[.!]*\s*$",
    re.IGNORECASE,
)
ORGAN_TOOLS = ("segment", "intervene_decoder", "measure")
SEGMENT_WORDS = re.compile(r"\b(segment\w*|seg|contour\w*|outline|delineate|run)\b", re.IGNORECASE)
HISTORY_TOOLS = ("undo", "redo", "go_to_version")
# words that make "redo" about the mask versions even where an organ is named ("redo the liver change")
VERSION_WORDS = re.compile(r"\b(change|correction|edit|step|version|undid|undone|undo|last)s?\b", re.IGNORECASE)


ASK_WHAT_TO_DO = "Please tell me what to do rather than what not to do, e.g. 'grow the spleen a little'."


def pretty(classes: list[str]) -> str:
    names = [c.replace("_", " ") for c in classes]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


INVALID_COMMAND = "I could not turn that into a valid command"
# what the validation of a model's answer says (invalid_command): the model never validates anything itself
VALIDATION_WORDS = re.compile(rf"{INVALID_COMMAND}|invalid arguments for", re.IGNORECASE)
NOT_UNDERSTOOD = (
    "I did not understand that. I can segment, describe the style, correct a mask (grow, shrink, remove or add a "
    "region, smooth), measure, list, undo or redo versions, export and load studies, e.g. 'grow the liver toward the "
    "head'."
)


def invalid_command(error: Exception) -> ParsedCall:
    """The question asked when the model's answer failed validation: the reason is the validator's."""
    return clarify(f"{INVALID_COMMAND} ({error}). Could you rephrase it?")


# the model's catch-all answer, learned from the few-shot example for text outside its tools
CATCH_ALL = re.compile(r"^I can only segment\b", re.IGNORECASE)


def without_invented_validation(call: ParsedCall) -> ParsedCall:
    """A question the model wrote in the words of a validation error is not asked: no validation ran. Measured
    reason: after such a question was in the conversation, "asdf qwer zxcv" got the model's own "I could not turn
    that into a valid command (invalid arguments for intervene_decoder: slices [qwer, zxcv] are reversed …)". Its
    catch-all "I can only segment, …" becomes the answer that says it did not understand and gives an example
    ("?", "asdf qwerty" and "delete everything" had got that list alone)."""
    question = str(call.args.get("question", "")) if call.tool == CLARIFY else ""
    if VALIDATION_WORDS.search(question) or CATCH_ALL.search(question):
        return clarify(NOT_UNDERSTOOD)
    return call


def screen(text: str, classes: list[str]) -> ParsedCall | None:
    """A reply that needs no model, or None when the text should go to the model."""
    stripped = text.strip()
    if not stripped:
        return clarify("Please type a command, e.g. 'segment everything' or 'grow the liver toward the head'.")
    if len(stripped) > MAX_COMMAND_CHARS:
        return clarify(
            f"That message has {len(stripped):,} characters; please send one command of at most "
            f"{MAX_COMMAND_CHARS} characters."
        )
    if INSTRUCTION_OVERRIDE.search(stripped):
        return clarify(
            f"I can only segment, describe, correct, measure, load, undo and export the {pretty(classes)} masks; "
            "tell me what to do with them."
        )
    if (left_alone := LEAVE_ALONE.search(stripped)) and not _asks_something_else(stripped, left_alone, classes):
        named = organs_mentioned(stripped, classes)
        what = f"the {named[0].replace('_', ' ')} stays as it is" if len(named) == 1 else "the masks stay as they are"
        return clarify(f"Nothing was changed: {what}. Say what to change when you want a change.")
    if NEGATED_ACTION.search(stripped) and not says_plainly_what_instead(stripped, classes):
        return clarify(ASK_WHAT_TO_DO)
    if (small_talk := small_talk_reply(stripped)) is not None:
        return small_talk
    named = organs_mentioned(stripped, classes)
    unsupported = unsupported_mentioned(stripped)
    if unsupported and not named:
        return clarify(f"This model does not segment the {unsupported[0]}; it segments {pretty(classes)}.")
    foreign = other_models_organs(stripped, classes)
    if foreign and not named:
        return clarify(_another_models_organ(foreign[0], classes))
    if foreign == ["tumour"] and named:
        return clarify(_no_tumour_class(named[0], classes))
    if bare_kidney(stripped) and not named and "right_kidney" in classes and not OTHER_KIDNEY.search(stripped.lower()):
        return _kidneys_unsided(stripped, classes)
    return None


def _asks_something_else(text: str, left_alone: re.Match, classes: list[str]) -> bool:
    """Whether the text, without its "leave … alone" part, still asks for something ("don't touch the spleen, shrink
    the liver")."""
    rest = text[: left_alone.start()] + " " + text[left_alone.end() :]
    return keyword_parse(rest, classes, None).tool != CLARIFY


def _another_models_organ(organ: str, classes: list[str]) -> str:
    """The answer to an organ another shipped model segments: which one, and how to start with it (before, the call
    went to the model, which could only answer with this model's organs or "all": "segment the whole tumour" became
    segment all)."""
    model = shipped_model_for(STANDS_FOR.get(organ, organ))
    where = f" The shipped {model} model does: start the chat with --segmenter {model}." if model else ""
    return f"This model does not segment the {organ.replace('_', ' ')}; it segments {pretty(classes)}.{where}"


def _no_tumour_class(organ: str, classes: list[str]) -> str:
    """The answer to a tumour named with one of this model's organs ("remove the tumour from the liver"): the model
    cannot tell a tumour inside the organ from the organ, so it changes nothing (before, the liver's detached
    pieces were deleted, as a removal of the liver's own region), and says how to move the organ's edge instead."""
    name = organ.replace("_", " ")
    return (
        f"This model has no tumour class: it segments {pretty(classes)}, and cannot tell a tumour in the {name} from "
        f"the {name}, so nothing was changed. If the {name} mask should leave out or take in part of it, say where, "
        f"e.g. 'shrink the {name} at the front on slices 10 to 14'."
    )


WHICH_KIDNEY = "Which kidney do you mean: the patient's right or left?"
WHICH_KIDNEY_FIRST = "I change one organ at a time: the patient's right kidney or the left one first?"


def _kidneys_unsided(text: str, classes: list[str]) -> ParsedCall:
    """A kidney without a side. Both kidneys can be measured together (every organ's figure), but a segmentation or
    a correction names one organ: asking which is better than acting on one of the two the clinician meant."""
    if not both_kidneys(text):
        return clarify(WHICH_KIDNEY)
    guess = keyword_parse(text, classes, None)
    if guess.tool == "measure":
        return ParsedCall(tool="measure", args={**guess.args, "organ": "all"})
    return clarify(WHICH_KIDNEY_FIRST)


def groundable_organs(text: str, previous_organ: str | None, classes: list[str]) -> list[str]:
    """The organs `ground` could keep for this text (plus "all"): the ones named, else the previous one, else any of
    the model's classes. Decoding is limited to these, so the model picks among answers that can stand."""
    named = organs_mentioned(text, classes)
    if named:
        return [*named, "all"]
    if previous_organ in classes:
        return [previous_organ, "all"]
    return [*classes, "all"]


def groundable_regions(text: str) -> list[str] | None:
    """The regions decoding may offer: the ones the text names (and `whole`), `whole` alone when it names none, or
    None (every region) for an organ-relative direction ("medial") or a follow-up that continues an earlier request.
    Measured reason: with a slice range and no direction the model tended to write "inferior"."""
    named = regions_mentioned(text)
    if named:
        return [*named, "whole"]
    if leaves_region_to_the_model(text):
        return None
    return ["whole"]


# a kidney and a side not said together: "on the left" may be the left kidney or a kidney's left side (the question
# had listed every organ, the liver included: a clinician-language trial)
SIDED_KIDNEY_QUESTION = (
    "Which kidney do you mean: the patient's right or left? Say it with the kidney, e.g. 'the left kidney is too big'."
)


def ground(call: ParsedCall, text: str, previous_organ: str | None, classes: list[str]) -> ParsedCall:
    """Keep a call only if its organ was named in the text, or the text refers back to the previous organ."""
    organ = call.args.get("organ")
    if call.tool not in ORGAN_TOOLS or organ in (None, "all"):
        return call
    if organ not in classes:
        return clarify(f"This model does not segment the {organ.replace('_', ' ')}; it segments {pretty(classes)}.")
    named = organs_mentioned(text, classes)
    if organ in named:
        return call
    if mentions_kidney(text) and organ not in KIDNEYS:  # the text is about a kidney: not a follow-up of the liver
        return clarify(f"Which organ do you mean ({pretty(classes)})?")
    if mentions_kidney(text) and not named:  # "the kidney is too big on the left": which kidney, not which organ
        return clarify(SIDED_KIDNEY_QUESTION)
    if not named and previous_organ == organ and refers_back(text):
        return call
    if not named and previous_organ == organ and call.tool == "intervene_decoder":
        return call  # a follow-up such as "a bit more toward the feet" continues the previous organ
    return clarify(f"Which organ do you mean ({pretty(classes)})?")


def ground_slices(call: ParsedCall, text: str, previous_call: ParsedCall | None) -> ParsedCall:
    """Slices only where the text gives their numbers (in any words: "on 130 to 138", "between images 30 and 37",
    "slices twelve to fifteen") or a follow-up carries the previous call's on: the whole volume otherwise. A range
    the text states in the words `stated_slices` reads is used where the model gave none. Measured reasons: "the left
    kidney is missing its lower pole" got the model's own slices [10, 10], the kidney's upper end; "from slice
    eighteen to thirty-one" got none (eleventh held-out set)."""
    if call.tool not in ("intervene_decoder", "segment", "measure"):
        return call
    if (scattered := scattered_slices(text)) is not None:  # one call takes one run of slices
        listed = ", ".join(str(n) for n in scattered)
        return clarify(
            f"One command takes one run of slices, and slices {listed} are not one. Say 'slices {scattered[0]} to "
            f"{scattered[-1]}', or give each run in a command of its own."
        )
    slices, stated = call.args.get("slices"), stated_slices(text)
    if stated is not None and slices != stated:  # "slices 12, 13 and 14" had become [12, 13]
        return ParsedCall(tool=call.tool, args={**call.args, "slices": stated})
    if slices is None:
        return call
    # the model's own slices stand where the text gives their numbers, not where an amount's do ("grow the right
    # kidney 5 mm" and "by 1 slice toward the head" had been done on slice 5 and slice 1 only: a fourth trial)
    if {str(n) for n in slices} <= set(re.findall(r"\d+", without_amount_numbers(without_slice_counts(text)))):
        return call
    if (
        previous_call is not None
        and previous_call.args.get("slices") == slices
        and _continues(call, previous_call, text)
    ):
        return call
    return ParsedCall(tool=call.tool, args={**call.args, "slices": None})


# "shrink it there instead": the slices of the correction before, whatever its action
THERE = re.compile(r"\b(there|same\s+slices?|those\s+slices?|these\s+slices?)\b", re.IGNORECASE)


def _continues(call: ParsedCall, previous_call: ParsedCall, text: str) -> bool:
    """Whether a call whose slices are the previous call's continues it ("more", "the spleen too": the same action
    and region) or says "there". A new correction had kept the slices of another organ's before it (a fifth trial:
    "the liver goes 1 slice too high", after a grow of the spleen on slices 8-12, shrank the liver there, Dice
    86.2 → 83.5)."""
    same = all(call.args.get(key) == previous_call.args.get(key) for key in ("action", "region"))
    return same or bool(THERE.search(text))


def ground_strength(call: ParsedCall, text: str) -> ParsedCall:
    """A correction's strength from the amount the text states. When it states none, a grow or shrink leaves the
    strength out, and the correction sizes it to the organ (tools/unsaid_amount.py); any other action takes the
    default. Only a follow-up that repeats an earlier request keeps the model's value (the model sees the
    conversation; the rule does not). Measured reason: every strength the model got wrong on the held-out commands
    was a guess where no amount was said, or contradicted the amount word ("somewhat" → 0.25)."""
    if call.tool != "intervene_decoder":
        return call
    if (asked := implausible_amount(text)) is not None:
        return clarify(
            f"You asked for {asked}, more than a boundary is plausibly off by (one correction moves at most "
            f"{FULL_STRENGTH_MM:g} mm), so nothing was changed. How far should it move, e.g. '5 mm' or 'a little'?"
        )
    if "strength" not in call.args:
        return call
    if stated_amount(text) is None and repeats_earlier_request(text):
        return call
    strength = said_strength(text, call.args.get("action"))
    if strength is None:
        return ParsedCall(tool=call.tool, args={k: v for k, v in call.args.items() if k != "strength"})
    return ParsedCall(tool=call.tool, args={**call.args, "strength": strength})


SAYS_REDO = re.compile(r"\bre-?do\b|\bre-?apply\b", re.IGNORECASE)


def ground_follow_up(call: ParsedCall, text: str, previous_call: ParsedCall | None, classes: list[str]) -> ParsedCall:
    """A follow-up of the previous correction is that correction again: text that continues it ("a bit more on it",
    "do the same on slices 30-42", "keep going, another 6 mm") for the same organ, or names one other organ and no
    action of its own ("now the left kidney too", "same for the spleen"). Where the text has no action of its own
    ("more" is none: after a shrink it means more shrinking) this holds whatever the model wrote; otherwise only where
    the model asked back or segmented. The amount, direction and slices the text states replace the previous ones.
    Text that only names slices or an amount continues it with them ("just on slices 20 to 35", "actually make it
    1.5 cm"); "the other side too" mirrors it. Measured reason: the model asked back, segmented, grew instead of
    shrank or lost the direction on ten such follow-ups of the fifth to ninth held-out sets. Never when the text
    asks to segment."""
    if previous_call is None or previous_call.tool != "intervene_decoder" or SEGMENT_WORDS.search(text):
        return call
    lower, before = text.lower(), previous_call.args.get("organ")
    # "again but smaller" after a grow is the grow again ("smaller" is its amount), "shrink slices 3-8" is no detail
    has_action = keyword_parse(CONTINUATION.sub(" ", lower), classes, None).tool != CLARIFY
    named, slices, amount = organs_mentioned(text, classes), stated_slices(text), stated_amount(text)
    other_kidney = OTHER_KIDNEY.search(lower) and not named and before in KIDNEYS
    if other_kidney:  # "same on the other kidney", "the other one too"
        named = [KIDNEYS[before]]
    if REJECTS_LAST.match(lower) and (other_kidney or OTHER_SIDE.search(lower)):
        # "no, the other side": the last change was the wrong one, which a mirror of it would keep
        return clarify(
            f"The last change ({_said(previous_call)}) is kept. Say 'undo' to take it back, then what to do on the "
            "other side."
        )
    said_regions = regions_mentioned(text)
    elsewhere = said_regions[:1] != [previous_call.args.get("region")]
    if REJECTS_LAST.match(lower) and len(said_regions) == 1 and elsewhere and set(named) <= {before} and not has_action:
        # "no, at the back" after a grow at the front: the front's change was the wrong one (a fourth trial had
        # kept it and shrunk the back)
        return clarify(
            f"The last change ({_said(previous_call)}) is kept. Say 'undo' to take it back, then what to do "
            f"({said_regions[0]}) instead."
        )
    only_details = (slices is not None or amount is not None) and not named  # "just on slices 20 to 35 though"
    other = OTHER_SIDE.search(lower)  # "the other side", "the opposite pole"
    mirrored = other is not None and not named
    # "the liver too" after a spleen correction (a fourth trial: the model had grown the whole liver, whatever the
    # spleen's correction had been)
    also_another = len(named) == 1 and named[0] != before and ALSO.search(lower) is not None and not has_action
    continues = (
        (bool(CONTINUATION.search(lower)) and not has_action)
        or also_another
        or (
            (only_details or mirrored) and keyword_parse(lower, classes, before).tool == CLARIFY  # no action of its own
        )
    )
    if other_kidney and call.tool == "intervene_decoder" and call.args.get("organ") == before:
        # "the other one too", "shrink the other kidney" answered with the same kidney again (a clinician trial)
        if keyword_parse(lower, classes, KIDNEYS[before]).tool != CLARIFY:  # an action of its own: the model's
            return ParsedCall(tool=call.tool, args={**call.args, "organ": KIDNEYS[before]})
        continues = True
    # "again", "more", "the other one too" answered with a redo, with nothing undone (a fifth trial: "Could not
    # redo: nothing to redo"); a text that says redo is one
    replaceable = (
        (CLARIFY, "segment") if SAYS_REDO.search(lower) or asks_to_redo(text) else (CLARIFY, "segment", "redo")
    )
    if call.tool not in replaceable and not (call.tool == "intervene_decoder" and continues):
        return call
    if continues and set(named) <= {before}:
        organ = before
    elif len(named) == 1 and not has_action:
        organ = named[0]
    else:
        return call
    args = {**previous_call.args, "organ": organ}
    regions = said_regions
    if len(regions) == 1:
        args["region"] = regions[0]
    elif (
        not regions and {organ, before} <= set(KIDNEYS) and organ != before and args.get("region") in ("left", "right")
    ):
        # the same side of the other kidney: "and the left kidney" after "the right kidney is too small on the
        # patient's right" had grown the left kidney on its inner side (a fourth trial)
        args["region"] = OPPOSITE_REGION[args["region"]]
    if mirrored:
        args.update(_mirror(args, other.group(2), classes))
    if slices is not None:
        args["slices"] = slices
    if amount is not None:
        args["strength"] = amount
        if _small_increment(lower, amount, previous_call.args.get("strength")):
            args["strength"] = previous_call.args.get("strength")  # None: sized to the organ again, as before
            args = {k: v for k, v in args.items() if v is not None or k != "strength"}
    return ParsedCall(tool="intervene_decoder", args=args)


MORE = re.compile(r"\bmore\b")
ALSO = re.compile(r"\b(?:too|also)\b")


def _small_increment(lower: str, amount: float, previous: float | None) -> bool:
    """ "a bit more" after a smaller step asks for another step of that size, not a larger one: after "shrink it a
    touch" (3 mm) and "more", "a bit more" read as 7.5 mm had taken the spleen from 129 to 53 ml (a clinician-language
    trial). Only amount words ("a touch more", "a little more"), never numbers ("3 mm more")."""
    if not MORE.search(lower) or amount > SMALL or re.search(r"\d", with_digits(lower)):
        return False
    return previous is None or previous < amount


# "no, the other side", "not that one, the other kidney", "wrong side": the text rejects the last change
REJECTS_LAST = re.compile(r"^\s*(?:no\b|nope\b|not\s+(?:that|this)\b|wrong\b)")


def _said(call: ParsedCall) -> str:
    """'expand right kidney (whole)'."""
    args = call.args
    return (
        f"{args.get('action', '').replace('_', ' ')} {args.get('organ', '').replace('_', ' ')} ({args.get('region')})"
    )


def _mirror(args: dict, part: str, classes: list[str]) -> dict:
    """For "the other side" (`part` "side", "end", "pole" …): the opposite patient side of a sided correction; for a
    kidney corrected elsewhere, the other kidney ("add the upper pole of the left kidney" … "other side too"); else
    the opposite direction."""
    region, organ = args.get("region"), args.get("organ")
    if region not in ("left", "right") and organ in KIDNEYS and part == "side" and KIDNEYS[organ] in classes:
        return {"organ": KIDNEYS[organ]}
    return {"region": OPPOSITE_REGION.get(region, region)}


def asks_for_an_action(text: str, classes: list[str], previous_organ: str | None = None) -> bool:
    """Text that names one of the model's organs, or refers back to the organ the conversation is about, and
    something the tools do (the keyword parser reads a call from it): a question back from the model is needless
    there. Measured reason: the model asked back on "remove the false positive island on the left side of the liver
    mask" (sixth held-out set) and "Trim the liever toward the head by 15 mm" (fourth), and, after a question of its
    own about the liver, answered "make it bigger" with that question again (a clinician-language trial)."""
    guess = keyword_parse(text, classes, previous_organ)
    organ = guess.args.get("organ")
    referred = previous_organ is not None and organ == previous_organ and refers_back(text)
    return guess.tool != CLARIFY and (organ in organs_mentioned(text, classes) or referred)


def ground_region(call: ParsedCall, text: str) -> ParsedCall:
    """A correction whose text names exactly one direction goes that way, not `whole`: the model wrote `whole` for
    "ventrally" twice on held-out commands although decoding offered only the named region and `whole`. Left to the
    model: text naming several directions, the whole organ ("all around"), an organ-relative direction or a
    follow-up."""
    if call.tool != "intervene_decoder" or call.args.get("region") != "whole":
        return call
    named = regions_mentioned(text)
    if len(named) != 1 or names_whole_organ(text) or leaves_region_to_the_model(text):
        return call
    return ParsedCall(tool=call.tool, args={**call.args, "region": named[0]})


# "a chunk of the liver is missing on slices 4 to 6": what is missing is to be added, never removed
MISSING_WORDS = re.compile(r"\b(missing|missed|left out|omitted|add|include)\b", re.IGNORECASE)
TAKING_WORDS = re.compile(
    r"\b(remove|delete|erase|cut away|not part|not (?:the |a )?\w+ tissue|false positive|shrink|smaller|"
    r"too (?:big|large)|spills?|leaks?|trim|shave|tighten|reduce|pull)\b",
    re.IGNORECASE,
)


# "the liver is cut short at the bottom", "looks cut off at the top", "the kidney is clipped": too little, to grow
CUT_SHORT = re.compile(
    r"\bcut\s+short\b|\b(?:is|are|was|were|been|looks?|seems?|appears?|gets?|got)\s+(?:\w+\s+){0,2}?"
    r"(?:cut\s+off|clipped|truncated|chopped\s+off)\b",
    re.IGNORECASE,
)


def ground_action(call: ParsedCall, text: str) -> ParsedCall:
    """A correction whose text says only that part of the organ is missing adds it: the model took away instead
    ("there's a chunk of right kidney missing on slice 9" and "a chunk of the liver is missing on slices 4 to 6"
    became `remove_region`; tuning set). One whose text says the organ is cut short grows it: "the liver is cut
    short at the bottom" and "… cut off at the top" had shrunk it (a clinician-language trial, 2026-12-07). Left to
    the model where the text also has words of taking away."""
    if call.tool != "intervene_decoder" or call.args.get("action") not in ("shrink", "remove_region"):
        return call
    if TAKING_WORDS.search(text):
        return call
    if CUT_SHORT.search(text):
        return ParsedCall(tool=call.tool, args={**call.args, "action": "expand"})
    if not MISSING_WORDS.search(text):
        return call
    return ParsedCall(tool=call.tool, args={**call.args, "action": "add_region"})


# the patient side each sided organ lies on: its lateral edge faces that side, its medial edge the other
ORGAN_SIDE = {"liver": "right", "right_kidney": "right", "spleen": "left", "left_kidney": "left"}
MEDIAL = re.compile(r"\b(medial|medially|mesial|hilum|hilar|inner)\b", re.IGNORECASE)
LATERAL = re.compile(r"\b(lateral|laterally|outer)\b", re.IGNORECASE)


def ground_organ_relative(call: ParsedCall, text: str) -> ParsedCall:
    """ "Medially" and "laterally" in patient sides for the organ named: the spleen's lateral edge is the patient's
    left, the right kidney's medial edge the patient's left. The model had read them as superior, anterior or the
    whole organ (a clinician-language trial, 2026-12-07). An organ with no side of the body is asked back."""
    if call.tool != "intervene_decoder":
        return call
    medial, lateral = bool(MEDIAL.search(text)), bool(LATERAL.search(text))
    if medial == lateral:  # neither, or both (then the model's reading stands)
        return call
    side = ORGAN_SIDE.get(call.args.get("organ", ""))
    if side is None:
        return clarify(
            "Medial and lateral depend on the organ's side of the body; say the patient's side instead, e.g. 'on the "
            "patient's left'."
        )
    region = side if lateral else OPPOSITE_REGION[side]
    return ParsedCall(tool=call.tool, args={**call.args, "region": region})


# "how big is the spleen on slices 10 to 14?": a size, not which slices it lies on
SIZE_QUESTION = re.compile(r"\bhow\s+(?:big|large|much)\b|\bvolumes?\b|\bsize\b|\bml\b|\bcc\b", re.IGNORECASE)


def ground_measure(call: ParsedCall, text: str) -> ParsedCall:
    """A question about size is answered in ml: "how big is the spleen on slices 10 to 14?" had got the slices it
    lies on. Left to the model when the text also asks where or which slices."""
    if call.tool != "measure" or call.args.get("metric") != "extent" or not SIZE_QUESTION.search(text):
        return call
    if EXTENT_QUESTION.search(text.lower()):
        return call
    return ParsedCall(tool="measure", args={**call.args, "metric": "volume_ml"})


def ground_history(call: ParsedCall, text: str) -> ParsedCall:
    """Moves through the mask versions as the text states them: a version number it names is gone to ("go back to
    version 2" is not one undo), a count it states is the number of steps ("undo twice"), one step otherwise; a
    version asked for without a number is asked back. Like the strength, never the model's guess."""
    if call.tool not in HISTORY_TOOLS:
        return call
    version, steps = stated_version(text), stated_steps(text)
    if version is not None:
        return ParsedCall(tool="go_to_version", args={"version": version})
    if call.tool == "undo" and asks_to_redo(text):
        return ParsedCall(tool="redo", args={"steps": steps or 1})
    if call.tool == "go_to_version":
        if steps is None:
            return clarify("Which version number? The legend shows the current one; 'undo' steps back one.")
        return ParsedCall(tool="undo", args={"steps": steps})
    return ParsedCall(tool=call.tool, args={"steps": steps or 1})


def ground_redo_of_an_organ(call: ParsedCall, text: str, classes: list[str]) -> ParsedCall:
    """ "just redo the spleen on slices 5 to 15" segments the spleen there again: the model had answered `redo` (of
    the mask versions) when the replay ran another session before in the same process. A redo whose text names an
    organ and no word of the versions ("redo the liver change") is that segmentation."""
    if call.tool != "redo" or VERSION_WORDS.search(text) or not (organs := organs_mentioned(text, classes)):
        return call
    return ParsedCall(tool="segment", args={"organ": organs[0], "slices": stated_slices(text)})


# "as a dicom seg", "DICOM-SEG", "in DICOM"; "nifti", ".nii.gz"
DICOM_FORMAT = re.compile(r"\bdicom|\bseg\b|\bdcm\b", re.IGNORECASE)
NIFTI_FORMAT = re.compile(r"\bnifti|\bnii\b|\.nii", re.IGNORECASE)


EXPORT_WORDS = re.compile(r"\b(save|export|write\s+out)\b", re.IGNORECASE)


def ground_export_request(call: ParsedCall, text: str) -> ParsedCall:
    """A question asked of text that says to save or export into a folder is that export (into the session's
    exports folder, whose reply says where the file went). Measured reason: "save the masks to /nonexistent/folder"
    got the model's catch-all (a clinician-language trial); "… to /tmp/masks_out" was an export."""
    if call.tool != CLARIFY or not EXPORT_WORDS.search(text) or stated_destination(text) is None:
        return call
    return ParsedCall(tool="export", args={"format": "nifti"})  # the format: ground_export_format, next


def ground_export_format(call: ParsedCall, text: str) -> ParsedCall:
    """An export is in the format the text names, NIfTI (which every study can be saved as) when it names none or
    both. Measured reason: for "save it" on a NIfTI study the model chose DICOM-SEG, which only a DICOM study has."""
    if call.tool != "export":
        return call
    dicom, nifti = bool(DICOM_FORMAT.search(text)), bool(NIFTI_FORMAT.search(text))
    return ParsedCall(tool="export", args={**call.args, "format": "dicom_seg" if dicom and not nifti else "nifti"})


def ground_study(call: ParsedCall, text: str) -> ParsedCall:
    """A study is loaded by the path or id as the text gives it: where the model's is the tail of a word of the text,
    that word (trailing punctuation aside). Measured reason: the model dropped the leading "/" of
    "/data/incoming/abdomen_ct_0042.nii.gz" (tuning set), which made an absolute path relative."""
    study = call.args.get("study") if call.tool == "load_study" else None
    if not study:
        return call
    typed = [word.strip("\"'`()").rstrip(".,;:!?") for word in text.split()]
    whole = next((word for word in typed if word != study and word.endswith(study)), None)
    # labels only as the text names them: a model's guess would score the study against a file nobody gave
    return ParsedCall(tool=call.tool, args={**call.args, "study": whole or study, "labels": stated_labels(text)})


def ground_negation(call: ParsedCall, text: str) -> ParsedCall:
    """A call the text says not to make is asked back, whichever parser gave it ("do not shrink the spleen, grow it"
    reaches the model, which must answer the grow; the keyword parser reads the first verb)."""
    kind = call.args.get("action") if call.tool == "intervene_decoder" else call.tool
    return clarify(ASK_WHAT_TO_DO) if kind in negated_calls(text) else call
