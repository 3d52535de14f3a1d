"""The system prompt and few-shot examples, read from `prompts/` and filled in with the loaded model's organs and
the bound tools. Returned as LangChain messages; identical from call to call, so its KV state is reused."""

import importlib.resources
import json

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from causal_sam_llm.agent.guard_rails import pretty


def _read(name: str) -> str:
    return importlib.resources.files("causal_sam_llm.prompts").joinpath(name).read_text()


def _tool_lines(openai_tools: list[dict]) -> str:
    """'- intervene_decoder, args organ, action, region, strength, slices: description' for each tool."""
    lines = []
    for tool in openai_tools:
        function = tool["function"]
        properties = function.get("parameters", {}).get("properties", {})
        args = ", ".join(properties) or "none"
        lines.append(f"- {function['name']}, args {args}: {function['description']}")
    return "\n".join(lines)


def prefix_messages(openai_tools: list[dict], classes: list[str]) -> list[BaseMessage]:
    organs = pretty(classes)
    system = _read("system.md").replace("{organs}", organs).replace("{tools}", _tool_lines(openai_tools))
    messages: list[BaseMessage] = [SystemMessage(system)]
    for number, example in enumerate(yaml.safe_load(_read("examples.yaml"))):
        call = json.loads(json.dumps(example["call"]).replace("{organs}", organs))
        messages.append(HumanMessage(example["user"]))
        messages.append(AIMessage("", tool_calls=[{"name": call["tool"], "args": call["args"], "id": f"ex{number}"}]))
    return messages
