"""Write one JSON value that satisfies a JSON schema, letting a `GuidedDecoder` pick wherever the schema allows a
choice. Covers the schema subset tool calls use: unions (anyOf/oneOf), const, enum, null, boolean, string, bounded
numbers, integers, fixed-length arrays (prefixItems) and objects with every property written in order.

A value starts with an *opening*: the text that tells the union branches, enum members or numbers apart (for an
object, its first key and that key's opening, so `{"segment":{"organ":"liver"` vs `{"measure":{"metric":"dice"` is
one choice). After the chosen opening, its continuation writes the rest."""

import json
from collections.abc import Callable
from dataclasses import dataclass

from causal_sam_llm.agent.call_schema import ToolCallError
from causal_sam_llm.agent.guided_decoder import GuidedDecoder

Continuation = Callable[[GuidedDecoder], None]
# compact JSON (as json.dumps(separators=SEPARATORS)): 11 fewer tokens per call than ", " and ": "
SEPARATORS = (",", ":")
MAX_INTEGER = 999  # slice indices and counts; larger integers are not a thing a clinician types here


@dataclass(frozen=True)
class Opening:
    text: str
    ahead: str = ""  # a number's options end with the character that follows it, so the model can stop the digits
    rest: Continuation | None = None


def emit_value(schema: dict, decoder: GuidedDecoder, end: str = "") -> None:
    """Write a value of `schema`; `end` is the character the caller writes right after it ("," "}" "]" or "")."""
    openings = _openings(schema, end)
    chosen = openings[decoder.choose([o.text for o in openings], [o.ahead for o in openings])]
    if chosen.rest is not None:
        chosen.rest(decoder)


def _openings(schema: dict, end: str) -> list[Opening]:
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return [opening for branch in branches for opening in _openings(branch, end)]
    if "const" in schema:
        return [Opening(json.dumps(schema["const"]))]
    if "enum" in schema:
        return [Opening(json.dumps(value)) for value in schema["enum"]]
    kind = schema.get("type")
    if kind == "null":
        return [Opening("null")]
    if kind == "boolean":
        return [Opening("true"), Opening("false")]
    if kind == "string":
        return [Opening('"', rest=_string_body)]
    if kind in ("integer", "number"):
        return [Opening(text + end, ahead=end) for text in _numbers(schema)]
    if kind == "array":
        return _array_openings(schema)
    if kind == "object":
        return _object_openings(schema)
    raise ToolCallError(f"a tool's argument schema uses something the decoder does not support: {schema}")


def _string_body(decoder: GuidedDecoder) -> None:
    decoder.free_string()


def _numbers(schema: dict) -> list[str]:
    """The numbers a value may take, as written: integers in range, or numbers on a 0.01 grid when bounded to a
    small range (strength in [0, 1])."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if schema["type"] == "integer":
        first = int(low) if low is not None else 0
        last = int(high) if high is not None else MAX_INTEGER
        return [str(value) for value in range(first, min(last, first + MAX_INTEGER) + 1)]
    if low is None or high is None or high - low > 10:
        raise ToolCallError(f"an unbounded number argument is not supported by the decoder: {schema}")
    steps = round((high - low) * 100)
    return [_short(low + step / 100) for step in range(steps + 1)]


def as_emitted(value: object) -> str:
    """`value` as JSON written the way `emit_value` writes it (compact, numbers on the grid), e.g. for a draft."""
    if isinstance(value, float):
        return _short(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}{SEPARATORS[1]}{as_emitted(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(as_emitted(v) for v in value) + "]"
    return json.dumps(value)


def _short(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _array_openings(schema: dict) -> list[Opening]:
    items = schema.get("prefixItems")
    if not items:
        raise ToolCallError(f"only fixed-length arrays (prefixItems) are supported by the decoder: {schema}")
    first_end = "," if len(items) > 1 else "]"

    def rest_after(opening: Opening) -> Continuation:
        def rest(decoder: GuidedDecoder) -> None:
            if opening.rest is not None:
                opening.rest(decoder)
            for index, item in enumerate(items[1:], start=1):
                decoder.literal(SEPARATORS[0])
                emit_value(item, decoder, "," if index < len(items) - 1 else "]")
            decoder.literal("]")

        return rest

    return [Opening("[" + o.text, o.ahead, rest_after(o)) for o in _openings(items[0], first_end)]


def _object_openings(schema: dict) -> list[Opening]:
    properties = list(schema.get("properties", {}).items())
    if not properties:
        return [Opening("{}")]
    first_key, first_schema = properties[0]
    head = "{" + json.dumps(first_key) + SEPARATORS[1]
    first_end = "," if len(properties) > 1 else "}"

    def rest_after(opening: Opening) -> Continuation:
        def rest(decoder: GuidedDecoder) -> None:
            if opening.rest is not None:
                opening.rest(decoder)
            for index, (key, value_schema) in enumerate(properties[1:], start=1):
                decoder.literal(SEPARATORS[0] + json.dumps(key) + SEPARATORS[1])
                emit_value(value_schema, decoder, "," if index < len(properties) - 1 else "}")
            decoder.literal("}")

        return rest

    return [Opening(head + o.text, o.ahead, rest_after(o)) for o in _openings(first_schema, first_end)]
