"""The tool set: one `ToolSpec` per tool file, and the same tools as LangChain `StructuredTool`s bound to a
`Workbench` (what the agent binds to its chat model). Arguments are validated by each tool's pydantic schema before
anything runs; a tool that fails leaves the workbench as it was."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from langchain_core.tools import StructuredTool
from pydantic import BaseModel

from causal_sam_llm.tools import (
    describe_style,
    export,
    intervene_decoder,
    load_study,
    measure,
    segment,
    undo,
    versions,
)
from causal_sam_llm.tools.schemas import InterventionArgs, ToolResult
from causal_sam_llm.tools.workbench import Workbench


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Workbench, BaseModel], ToolResult]


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("load_study", load_study.DESCRIPTION, load_study.LoadStudyArgs, load_study.load_study),
    ToolSpec("segment", segment.DESCRIPTION, segment.SegmentArgs, segment.segment),
    ToolSpec(
        "describe_style", describe_style.DESCRIPTION, describe_style.DescribeStyleArgs, describe_style.describe_style
    ),
    ToolSpec("intervene_decoder", intervene_decoder.DESCRIPTION, InterventionArgs, intervene_decoder.intervene_decoder),
    ToolSpec("measure", measure.DESCRIPTION, measure.MeasureArgs, measure.measure),
    ToolSpec("undo", undo.UNDO_DESCRIPTION, undo.StepsArgs, undo.undo),
    ToolSpec("redo", undo.REDO_DESCRIPTION, undo.StepsArgs, undo.redo),
    ToolSpec("go_to_version", undo.GO_TO_DESCRIPTION, undo.VersionArgs, undo.go_to_version),
    ToolSpec("list_versions", versions.DESCRIPTION, versions.ListVersionsArgs, versions.list_versions),
    ToolSpec("export", export.DESCRIPTION, export.ExportArgs, export.export),
)
TOOL_NAMES = tuple(spec.name for spec in TOOLS)


def tool_spec(name: str) -> ToolSpec:
    for spec in TOOLS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown tool {name!r}; tools: {', '.join(TOOL_NAMES)}")


def run_tool(bench: Workbench, name: str, raw_args: dict) -> ToolResult:
    """Validate `raw_args` with the tool's schema (raises pydantic.ValidationError first), then run it, timed. The
    organ is checked against the loaded model, slices against the loaded study."""
    spec = tool_spec(name)
    context = {"classes": bench.classes, **({"depth": bench.depth} if bench.case is not None else {})}
    args = spec.args.model_validate(raw_args, context=context)
    start = time.perf_counter()
    result = spec.run(bench, args)
    if not result.elapsed_ms:
        result.elapsed_ms = 1000 * (time.perf_counter() - start)
    return result


def _invoke(bench: Workbench, spec: ToolSpec, **kwargs) -> dict:
    return run_tool(bench, spec.name, kwargs).model_dump(mode="json")


def langchain_tools(bench: Workbench) -> list[StructuredTool]:
    """The tools as LangChain StructuredTools acting on `bench`."""
    return [
        StructuredTool.from_function(
            func=partial(_invoke, bench, spec), name=spec.name, description=spec.description, args_schema=spec.args
        )
        for spec in TOOLS
    ]
