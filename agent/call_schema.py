"""The ONE shape every parsed command has: a discriminated union over the bound tools plus `clarify`,
`{"tool": NAME, "args": {...}}` (`ParsedCall`). The model writes it keyed by the tool, `{NAME: {...}}` (4 tokens
fewer per call than the tool/args form, and the tool name still comes first). Turned into a JSON schema (which
`schema_emitter` follows to constrain generation) from LangChain's OpenAI-format tool definitions, and validated back
with the tool's pydantic schema."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from causal_sam_llm.errors import CausalSamError, validation_problems

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


def clarify(question: str) -> ParsedCall:
    """A question back to the clinician, as a call: nothing is changed."""
    return ParsedCall(tool=CLARIFY, args={"question": question})


def _without_lengths(schema):
    """The decoder writes free text without length bookkeeping; pydantic checks the limits afterwards."""
    if isinstance(schema, dict):
        return {k: _without_lengths(v) for k, v in schema.items() if k not in ("maxLength", "minLength", "title")}
    if isinstance(schema, list):
        return [_without_lengths(v) for v in schema]
    return schema


def _all_required(parameters: dict) -> dict:
    """Small models follow a fixed shape best: every argument is always written out (null where optional)."""
    fixed = _without_lengths(parameters)
    fixed["required"] = list(parameters.get("properties", {}))
    fixed["additionalProperties"] = False
    return fixed


def call_json_schema(openai_tools: list[dict]) -> dict:
    """JSON schema of the union {NAME: PARAMETERS} over the tools, plus clarify: the model names the tool before it
    fills the arguments."""
    members = [
        _member(tool["function"]["name"], _all_required(tool["function"].get("parameters", {"properties": {}})))
        for tool in openai_tools
    ]
    members.append(_member(CLARIFY, _all_required(ClarifyArgs.model_json_schema())))
    return {"oneOf": members}


def restrict_choices(schema, field: str, allowed: list[str]):
    """`schema` with every `field` enum cut to `allowed` (values outside the enum are ignored): the decoder can then
    only write a value the guard rails would accept, instead of one they would turn into a question."""
    if isinstance(schema, list):
        return [restrict_choices(item, field, allowed) for item in schema]
    if not isinstance(schema, dict):
        return schema
    fixed = {key: restrict_choices(value, field, allowed) for key, value in schema.items()}
    choice = fixed.get("properties", {}).get(field)
    if choice is not None:
        fixed["properties"] = {**fixed["properties"], field: _kept_choices(choice, allowed)}
    return fixed


def without_tool(schema: dict, name: str) -> dict:
    """`schema` (a `call_json_schema` union) without the member for tool `name`."""
    return {"oneOf": [member for member in schema["oneOf"] if name not in member["properties"]]}


def _kept_choices(choice: dict, allowed: list[str]) -> dict:
    if "enum" in choice:
        kept = [value for value in choice["enum"] if value in allowed]
        return {**choice, "enum": kept or choice["enum"]}  # never an empty choice: the tool must stay writable
    if "anyOf" in choice:
        return {**choice, "anyOf": [_kept_choices(branch, allowed) for branch in choice["anyOf"]]}
    return choice


def _member(name: str, parameters: dict) -> dict:
    return {"type": "object", "properties": {name: parameters}, "required": [name], "additionalProperties": False}


def call_as_written(tool: str, args: dict) -> dict:
    """A call in the form the model writes: {NAME: ARGS}."""
    return {tool: args}


def call_from_written(raw: object) -> tuple[str, dict]:
    """(tool, args) from the model's {NAME: ARGS}."""
    if not (isinstance(raw, dict) and len(raw) == 1 and isinstance(next(iter(raw.values())), dict)):
        raise ToolCallError(f"the model's answer is not one {{NAME: ARGS}} call: {str(raw)[:200]!r}")
    return next(iter(raw.items()))


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
        raise ToolCallError(f"invalid arguments for {call.tool}: {validation_problems(exc)}") from exc
    return ParsedCall(tool=call.tool, args=args.model_dump(mode="json"))


Strategy = Literal["llm", "none"]
