"""`CommandParser`: clinician text (+ the conversation so far) → one validated `ParsedCall`.

Default: the local LLM through `LlamaToolCaller.bind_tools`, with guard rails before and after. `strategy="none"`:
the deterministic keyword parser. Either way the result is validated by the tool's own pydantic schema."""

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from causal_sam_llm.agent.both_ways import ground_both_ways
from causal_sam_llm.agent.call_schema import (
    CLARIFY,
    ParsedCall,
    Strategy,
    ToolCallError,
    call_as_written,
    validate_call,
)
from causal_sam_llm.agent.chat_model import LlamaToolCaller
from causal_sam_llm.agent.end_slices import ground_end_slices
from causal_sam_llm.agent.guard_rails import (
    LEAVE_ALONE,
    asks_for_an_action,
    ground,
    ground_action,
    ground_export_format,
    ground_export_request,
    ground_follow_up,
    ground_history,
    ground_measure,
    ground_negation,
    ground_organ_relative,
    ground_redo_of_an_organ,
    ground_region,
    ground_slices,
    ground_strength,
    ground_study,
    groundable_organs,
    groundable_regions,
    invalid_command,
    screen,
    without_invented_validation,
)
from causal_sam_llm.agent.keyword_parser import keyword_parse
from causal_sam_llm.agent.kidney_answer import ground_kidney_answer
from causal_sam_llm.agent.llm_weights import checked_model_path, default_model_path
from causal_sam_llm.agent.negation_words import without_negated_verbs
from causal_sam_llm.agent.one_organ_reset import ground_one_organ_reset
from causal_sam_llm.agent.organ_words import organs_mentioned
from causal_sam_llm.agent.outside_slices import ground_outside_slices
from causal_sam_llm.agent.prompt import prefix_messages
from causal_sam_llm.agent.region_typos import with_region_typos_mended
from causal_sam_llm.agent.said_error_rails import (
    ground_bare_organ,
    ground_distance_words,
    ground_said_direction,
    ground_self_correction,
    ground_signed_amount,
    ground_slice_words,
    ground_too_far,
    ground_undo,
    ground_zero_amount,
)
from causal_sam_llm.agent.schema_emitter import as_emitted
from causal_sam_llm.agent.session_requests import ground_session_request
from causal_sam_llm.agent.side_one import ground_side_one
from causal_sam_llm.agent.slice_distance import ground_slice_distance
from causal_sam_llm.agent.undone_correction import correction_to_follow
from causal_sam_llm.agent.vague_request import ground_vague_request
from causal_sam_llm.tools.registry import TOOLS

HISTORY_BLOCK = 6  # earlier turns the model sees (for "it", "a bit more"): 6 to 12, trimmed in blocks


def tool_definitions() -> list[dict]:
    """OpenAI-format definitions of every tool (what LangChain's bind_tools produces from the StructuredTools)."""
    definitions = []
    for spec in TOOLS:
        parameters = convert_to_openai_tool(spec.args)["function"]["parameters"]
        definitions.append(
            {
                "type": "function",
                "function": {"name": spec.name, "description": spec.description, "parameters": parameters},
            }
        )
    return definitions


class CommandParser:
    def __init__(
        self,
        classes: list[str],
        strategy: Strategy = "llm",
        model_path: Path | None = None,
        tools: Sequence[Any] | None = None,
        draft: bool = True,
    ) -> None:
        """`draft`: give the LLM the keyword parser's answer as a draft to check (faster; same answers)."""
        self.classes = list(classes)
        self.strategy = strategy
        self.draft = draft
        self.argument_models = {spec.name: spec.args for spec in TOOLS}
        self.last_timings: dict[str, float] = {}
        # what the model (or keyword parser) answered for the last text, before validation and the guard rails;
        # None when the guard rails answered without it. Audited next to the call that ran.
        self.last_answer: dict | None = None
        self.model_name = "keyword parser"  # what the chat's status bar names
        self.prepared = strategy != "llm"
        if strategy == "llm":
            self.model_name = model_path.name if model_path else "Qwen2.5-Coder-1.5B"
            self.model = LlamaToolCaller(
                model_path=str(checked_model_path(model_path) if model_path else default_model_path())
            )
            definitions = [convert_to_openai_tool(t) for t in (tools or tool_definitions())]
            self.bound = self.model.bind_tools(definitions)
            self.prefix = prefix_messages(definitions, self.classes)

    def prepare(self, progress: bool = False) -> None:
        """Load the model and its evaluated system prompt now (restored from disk when stored, see
        `prompt_state`); the first command does it otherwise. `progress`: show the evaluation (a terminal command
        before its first turn; never inside the chat's own screen)."""
        if not self.prepared:
            self.model.prepare(self.prefix, progress)
            self.prepared = True

    def parse(self, text: str, history: list[tuple[str, ParsedCall]], slice_mm: float | None = None) -> ParsedCall:
        """`slice_mm`: the open study's slice spacing, which gives an amount said in slices its length in mm."""
        start = time.perf_counter()
        self.last_answer = None
        text = with_region_typos_mended(text)  # the model and the rails both read "bottm" as "bottom"
        previous = previous_organ(history, self.classes)
        reply = screen(text, self.classes)
        if reply is not None:
            self.last_timings = {"parse_ms": 1000 * (time.perf_counter() - start)}
            return reply
        if self.strategy == "none":
            raw = keyword_parse(without_negated_verbs(text), self.classes, previous).model_dump()
        else:
            raw = self._ask_model(text, history, previous)
        self.last_answer = raw
        try:
            call = without_invented_validation(validate_call(raw, self.argument_models))
        except ToolCallError as exc:
            call = invalid_command(exc)
        call = ground_strength(ground(call, text, previous, self.classes), text)
        # after the strength rail: a follow-up keeps the previous amount unless the text states one
        previous_call = correction_to_follow(history, text, self.classes)
        call = ground_slices(ground_follow_up(call, text, previous_call, self.classes), text, previous_call)
        rails = (
            ground_region,
            ground_organ_relative,
            ground_action,
            ground_measure,
            ground_history,
            ground_export_request,
            ground_export_format,
            ground_study,
            ground_said_direction,
            ground_self_correction,
            ground_end_slices,
            ground_slice_words,
            ground_too_far,
            ground_zero_amount,
            ground_distance_words,
            ground_negation,
        )
        for rail in rails:
            call = rail(call, text)
        call = ground_slice_distance(call, text, slice_mm)
        call = ground_redo_of_an_organ(call, text, self.classes)
        call = ground_bare_organ(call, text, previous_call, self.classes)
        call = ground_signed_amount(call, text, self.classes)
        call = ground_both_ways(call, text, self.classes)
        call = ground_kidney_answer(call, text, history)
        call = ground_session_request(call, text, self.classes)
        call = ground_undo(call, text, organs_mentioned(text, self.classes), last_changed_organ(history))
        call = ground_one_organ_reset(ground_outside_slices(call, text), text, self.classes)
        call = ground_side_one(call, text, previous_call, self.classes)
        # again, once the rails have set the action and region: slices carried from the correction before stay only
        # where this one continues it (a fifth trial: "goes 1 slice too high" was a grow of the spleen's slices until
        # the rails made it the liver's shrink)
        call = ground_slices(call, text, previous_call)
        model_question = (raw.get("args") or {}).get("question") if raw.get("tool") == CLARIFY else None
        call = ground_vague_request(call, text, self.classes, previous, model_question)
        self.last_timings = {**self.last_timings, "parse_ms": 1000 * (time.perf_counter() - start)}
        return call

    def _ask_model(self, text: str, history: list[tuple[str, ParsedCall]], previous: str | None) -> dict:
        self.prepare()
        messages: list[BaseMessage] = list(self.prefix)
        # trimmed in blocks, not sliding: the prompt then grows append-only for 6 turns, so llama.cpp reuses the
        # evaluated prefix and only the newest turn is processed
        start = max(0, (len(history) // HISTORY_BLOCK - 1) * HISTORY_BLOCK)
        for said, call in history[start:]:
            messages.append(HumanMessage(said))
            messages.append(AIMessage("", tool_calls=[{"name": call.tool, "args": call.args, "id": "history"}]))
        messages.append(HumanMessage(text))
        choices = {
            "organs": groundable_organs(text, previous, self.classes),
            "regions": groundable_regions(text),
        }
        draft = self._draft(text, previous) if self.draft else None
        answer = self.bound.invoke(messages, draft=draft, **choices)
        self.last_timings = dict(self.model.last_timings)
        if answer.tool_calls[0]["name"] == CLARIFY and asks_for_an_action(text, self.classes, previous):
            answer = self.bound.invoke(messages, draft=draft, may_ask_back=False, **choices)  # a second decode
            self.last_timings = {k: v + self.last_timings.get(k, 0) for k, v in self.model.last_timings.items()}
        tool_call = answer.tool_calls[0]
        return {"tool": tool_call["name"], "args": tool_call["args"]}

    def _draft(self, text: str, previous: str | None) -> str | None:
        """The keyword parser's call in the decoder's JSON form, arguments in schema order."""
        guess = keyword_parse(without_negated_verbs(text), self.classes, previous)
        model = self.argument_models.get(guess.tool)
        if model is None:
            return None
        try:
            args = model.model_validate(guess.args).model_dump(mode="json")
        except ValueError:
            return None
        return as_emitted(call_as_written(guess.tool, args))


def last_changed_organ(history: list[tuple[str, ParsedCall]]) -> str | None:
    """The organ the last mask-changing call named (None for none, or for a segmentation of all organs)."""
    for _said, call in reversed(history):
        if call.tool in ("intervene_decoder", "segment"):
            organ = call.args.get("organ")
            return None if organ == "all" else organ
    return None


def previous_organ(history: list[tuple[str, ParsedCall]], classes: list[str]) -> str | None:
    """The organ the conversation was last about: from the latest call that names one, else the latest text."""
    for said, call in reversed(history):
        if call.tool == CLARIFY and LEAVE_ALONE.search(said):
            continue  # "the liver is fine": not the organ a later "make it bigger" means (a clinician trial)
        organ = call.args.get("organ")
        if organ in classes:
            return organ
        named = organs_mentioned(said, classes)
        if named:
            return named[0]
    return None
