"""OOD protocols as YAML: which domains train, validate and test, and on which label set. Paths are templates whose
variables (`{benchmark}`, `{ct_root}`, ...) can be overridden, so one protocol file runs on the built-in benchmark or
on real BTCV / CHAOS / AMOS / BraTS folders unchanged."""

import importlib.resources
import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.datasets.label_maps import label_set
from causal_sam_llm.datasets.registry import open_dataset
from causal_sam_llm.errors import DataLayoutError
from causal_sam_llm.paths import BENCHMARK_ENV, app_home

Split = Literal["train", "val", "test"]
_VARIABLE = re.compile(r"\{(\w+)\}")


class DomainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str
    path: str
    modality: Literal["CT", "MR"] | None = None
    sequence: str | None = None
    cases: tuple[float, float] = (0.0, 1.0)  # fraction range of the sorted case list
    folder_split: Literal["train", "val", "test"] = "train"  # the data set's own split; "train" is the labelled one

    @model_validator(mode="after")
    def _fractions_in_order(self) -> "DomainSpec":
        low, high = self.cases
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"cases must be [low, high] with 0 <= low < high <= 1, got {list(self.cases)}")
        return self


class Protocol(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    label_set: str
    classes: list[str]
    variables: dict[str, str] = Field(default_factory=dict)
    train: list[DomainSpec]
    val: list[DomainSpec] = Field(default_factory=list)
    test: list[DomainSpec]

    @model_validator(mode="after")
    def _classes_in_label_set(self) -> "Protocol":
        unknown = set(self.classes) - set(label_set(self.label_set).classes)
        if unknown:
            raise ValueError(f"classes {sorted(unknown)} are not in label set {self.label_set!r}")
        return self

    def resolve_path(self, spec: DomainSpec, overrides: dict[str, str] | None = None) -> Path:
        values = {"benchmark": str(default_benchmark_dir()), **self.variables, **(overrides or {})}
        path = spec.path
        for _ in range(5):  # variables may refer to other variables ({ct_root} → {benchmark}/...)
            path = _VARIABLE.sub(lambda m: _lookup(values, m.group(1), self.name), path)
        return Path(path).expanduser()

    def cases(self, split: Split, overrides: dict[str, str] | None = None) -> dict[str, list[Case]]:
        """Domain name → its cases for `split`, loaded lazily from disk. Test cases never share an anatomy (patient
        or phantom) with a train or validation case."""
        selected = self._select(split, overrides)
        if split != "test":
            return selected
        seen = {c.anatomy_key for s in ("train", "val") for cases in self._select(s, overrides).values() for c in cases}
        return {domain: [c for c in cases if c.anatomy_key not in seen] for domain, cases in selected.items()}

    def case_list(self, split: Split, overrides: dict[str, str] | None = None) -> list[Case]:
        """`cases`' cases in one list, domain after domain."""
        return [case for domain in self.cases(split, overrides).values() for case in domain]

    def variable_names(self) -> list[str]:
        """What `--set NAME=PATH` may name: `benchmark` and the file's own variables."""
        return ["benchmark", *self.variables]

    def left_on_benchmark(self, splits: tuple[Split, ...], overrides: dict[str, str]) -> list[tuple[str, str]]:
        """(domain, variable) of each domain of `splits` whose path still lies in the built-in benchmark although
        `overrides` point other variables elsewhere: a run given real data for some domains would otherwise mix the
        benchmark's phantoms into the rest without a word. Empty when nothing but `benchmark` is overridden."""
        self._check_overrides(overrides)
        if not set(overrides) - {"benchmark"}:
            return []
        benchmark = Path(overrides.get("benchmark", default_benchmark_dir())).expanduser().resolve()
        left = []
        for split in splits:
            for spec in getattr(self, split):
                root = self.resolve_path(spec, overrides).resolve()
                if root == benchmark or benchmark in root.parents:
                    named = _VARIABLE.search(spec.path)
                    left.append((spec.domain, named.group(1) if named else "benchmark"))
        return list(dict.fromkeys(left))

    def _check_overrides(self, overrides: dict[str, str] | None) -> None:
        """A `--set` name the protocol does not use would be ignored, and the run would read the benchmark instead
        of the folder meant (a typo such as `mr_rot`): refused, with the names it has."""
        unknown = sorted(set(overrides or {}) - set(self.variable_names()))
        if unknown:
            raise DataLayoutError(
                f"protocol {self.name} has no variable {', '.join(unknown)}; "
                f"--set may name: {', '.join(self.variable_names())}."
            )

    def _select(self, split: Split, overrides: dict[str, str] | None) -> dict[str, list[Case]]:
        """A domain pointing at the same images as an earlier one of the split (real data with one CT source for
        several training domains) is left out: its cases would be counted twice, and LAD would pair identical images
        as two styles."""
        self._check_overrides(overrides)
        result: dict[str, list[Case]] = {}
        sources: set[tuple] = set()
        for spec in getattr(self, split):
            root = self.resolve_path(spec, overrides)
            source = (root.resolve(), spec.folder_split, spec.modality, spec.sequence, tuple(spec.cases))
            if source in sources:
                continue
            sources.add(source)
            if not root.exists():
                raise DataLayoutError(
                    f"protocol {self.name}: domain {spec.domain!r} ({split}) points to {root}, which does not exist. "
                    "Build the benchmark (causal-sam-llm data make-benchmark) or pass --set VARIABLE=PATH."
                )
            everything = open_dataset(root, spec.folder_split, spec.modality, spec.sequence)
            low, high = (round(f * len(everything)) for f in spec.cases)
            if split == "train" and high <= low:  # training on it would fail deep inside, with no word of why
                raise DataLayoutError(
                    f"protocol {self.name}: domain {spec.domain!r} (train) takes the cases from {spec.cases[0]:g} to "
                    f"{spec.cases[1]:g} of the {len(everything)} in {root}: none. Give it a folder with more cases."
                )
            result[spec.domain] = result.get(spec.domain, []) + everything[low:high]
        return result


def _lookup(values: dict[str, str], name: str, protocol: str) -> str:
    if name not in values:
        raise DataLayoutError(f"protocol {protocol}: unknown variable {{{name}}}; define it with --set {name}=PATH.")
    return values[name]


def default_benchmark_dir() -> Path:
    """The built-in benchmark `benchmark:<case>` and the protocols read: `$CAUSAL_SAM_LLM_BENCHMARK`, else the one
    under the package's home."""
    configured = os.environ.get(BENCHMARK_ENV)
    return Path(configured).expanduser() if configured else app_home() / "benchmark"


def protocol_names() -> list[str]:
    folder = importlib.resources.files("causal_sam_llm.datasets").joinpath("protocols")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_protocol(name_or_path: str) -> Protocol:
    """A shipped protocol by name (see protocol_names) or any YAML file by path."""
    if name_or_path in protocol_names():
        source = importlib.resources.files("causal_sam_llm.datasets").joinpath("protocols", f"{name_or_path}.yaml")
        text, where = source.read_text(), f"protocol {name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise DataLayoutError(f"no protocol named {name_or_path!r}; shipped: {', '.join(protocol_names())}.")
        text, where = path.read_text(), str(path)
    try:
        return Protocol.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise DataLayoutError(f"{where} is not a valid protocol: {exc}") from exc
