"""The ONE shape every parsed command has: a discriminated union over the bound tools plus `clarify`,
`{"tool": NAME, "args": {...}}`, validated with the named tool's pydantic schema (the grammar that constrains the
LLM is built from the same schemas, see compact_calls.py)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from causal_sam_llm.errors import CausalSamError

CLARIFY = "clarify"


class ToolCallError(CausalSamError, ValueError):
    """A model answer that is not one valid call to a bound tool."""


class ClarifyArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=400)


class ParsedCall(BaseModel):
    """What `parse --json` prints and sessions store."""

    model_config = ConfigDict(extra="forbid")
    tool: str
    args: dict


def validate_call(raw: dict, argument_models: dict[str, type[BaseModel]]) -> ParsedCall:
    """Check a raw {"tool", "args"} against the named tool's pydantic schema; returns the normalised call."""
    try:
        call = ParsedCall.model_validate(raw)
    except ValidationError as exc:
        raise ToolCallError(f"not a tool call: {exc.errors()[0]['msg']}") from exc
    models = {**argument_models, CLARIFY: ClarifyArgs}
    if call.tool not in models:
        raise ToolCallError(f"unknown tool {call.tool!r}; tools: {', '.join(models)}")
    try:
        args = models[call.tool].model_validate(call.args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ToolCallError(f"invalid arguments for {call.tool}: {problems}") from exc
    return ParsedCall(tool=call.tool, args=args.model_dump(mode="json"))


Strategy = Literal["llm", "none"]
