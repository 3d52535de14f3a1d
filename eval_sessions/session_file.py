"""The correction-session file format (YAML), validated with pydantic; an error names the file and line.

    description: what the session exercises
    study: benchmark:mr_t2-0011      # a path (relative: to this file's folder), a DICOM folder, benchmark:<id>,
                                     # or sample:<name>
    labels: null                     # optional reference label NIfTI (benchmark cases carry theirs)
    checkpoint: ct_to_mr/lad         # optional: a shipped checkpoint (protocol/method) or a path
    turns:
      - say: segment everything
        expect: {tool: segment, args: {organ: all}, dice_at_least: 70}
      - say: the liver is cut short toward the head, grow it
        expect: {tool: intervene_decoder, args: {organ: liver, action: expand, region: superior}}

`expect.args` lists only the fields to check; `dice_at_least` is the mean Dice % after the turn (needs labels)."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from causal_sam_llm.agent.call_schema import CLARIFY
from causal_sam_llm.errors import CausalSamError
from causal_sam_llm.tools.registry import TOOLS


class SessionFileError(CausalSamError, ValueError):
    """A session file that cannot be read; the message names the file and line."""


# what an expectation may name: the tools and their arguments, and the question the agent asks back
EXPECTABLE_ARGUMENTS: dict[str, set[str]] = {spec.name: set(spec.args.model_fields) for spec in TOOLS} | {
    CLARIFY: {"question"}
}


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: str | None = None
    args: dict = Field(default_factory=dict)
    dice_at_least: float | None = Field(default=None, ge=0, le=100)
    ok: bool = True  # the tool ran without error

    @field_validator("tool")
    @classmethod
    def _a_tool_there_is(cls, tool: str | None) -> str | None:
        """A misspelt tool is an error in the file, found before any turn runs, not a failed turn at the end."""
        if tool is not None and tool not in EXPECTABLE_ARGUMENTS:
            raise ValueError(f"unknown tool {tool!r}; one of: {', '.join(EXPECTABLE_ARGUMENTS)}")
        return tool

    @field_validator("args")
    @classmethod
    def _arguments_the_tool_has(cls, args: dict, info: ValidationInfo) -> dict:
        if "tool" not in info.data:  # the tool itself was refused: that is the error to report
            return args
        tool = info.data["tool"]
        allowed = EXPECTABLE_ARGUMENTS[tool] if tool else set().union(*EXPECTABLE_ARGUMENTS.values())
        unknown = sorted(set(args) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise ValueError(f"{', '.join(unknown)}: no argument of {tool or 'any tool'} (its arguments: {known})")
        return args


class ScriptedTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    say: str
    expect: Expectation | None = None


class CorrectionSession(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    study: str
    labels: str | None = None
    checkpoint: str | None = None
    turns: list[ScriptedTurn] = Field(default_factory=list)


def read_session(path: Path) -> CorrectionSession:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SessionFileError(f"cannot read session file {path}: {exc.strerror}") from exc
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SessionFileError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise SessionFileError(f"{path} line 1: a session file is a mapping with 'study' and 'turns'.")
    try:
        session = CorrectionSession.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        line = _line_of(node, error["loc"])
        field = ".".join(map(str, error["loc"]))
        message = error["msg"].removeprefix("Value error, ")  # pydantic's prefix for our own validators' messages
        raise SessionFileError(f"{path} line {line}: {field}: {message}") from exc
    folder = path.parent
    return session.model_copy(
        update={name: _beside(getattr(session, name), folder) for name in ("study", "labels", "checkpoint")}
    )


def _beside(value: str | None, folder: Path) -> str | None:
    """A relative path in a session file is read from the file's own folder, where it exists there (a research-user
    trial: `study: ../src/scan.nii.gz` was looked for from wherever replay was started); ids (`benchmark:…`,
    `sample:…`), shipped checkpoint names and absolute paths are kept as written, and so is a relative path found
    only from the current folder."""
    if value is None or ":" in value.split("/")[0] or Path(value).expanduser().is_absolute():
        return value
    beside = folder / value
    return str(beside) if beside.exists() else value


def _line_of(node, location: tuple) -> int:
    """1-based line of the deepest YAML node on `location` (as pydantic reports it)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in location:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                return line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line
