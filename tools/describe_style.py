"""Tool `describe_style`: the loaded study's acquisition style (modality, scanner, contrast, noise, bias field)."""

from pydantic import BaseModel, ConfigDict

from causal_sam_llm.segmentation.style_profile import describe_style as measure_case_style
from causal_sam_llm.tools.schemas import ToolResult
from causal_sam_llm.tools.workbench import Workbench

DESCRIPTION = "Describe the loaded image's style: modality, scanner, contrast, noise and bias field."


class DescribeStyleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


def describe_style(bench: Workbench, _args: DescribeStyleArgs) -> ToolResult:
    profile = measure_case_style(bench.require_case())
    # the sentence stays as LAD's text encoder was trained on it; only the reply drops the stop doubled after "a.u."
    reply = profile.sentence.removesuffix("..") + "." if profile.sentence.endswith("..") else profile.sentence
    if bench.require_case().metadata.get("depth_assumed"):
        reply += f" The {profile.slice_thickness_mm:g} mm slice depth is assumed: the header gives none."
    return ToolResult(tool="describe_style", message=reply, data=profile.model_dump(mode="json"))
