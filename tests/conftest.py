"""Shared fixtures: real backbones built once per run, and an app home in a temporary folder."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from tiny_run import TINY_BENCHMARK_SPEC, train_args

# Everything the package writes during tests goes to a throwaway home, never to ~/.cache; it is removed at the end
# (it holds the assembled LLM, 1.3 GB: left behind, 160 runs had filled the disk).
THROWAWAY_HOME = None if "CAUSAL_SAM_LLM_HOME" in os.environ else tempfile.mkdtemp(prefix="csl-test-home-")
if THROWAWAY_HOME is not None:
    os.environ["CAUSAL_SAM_LLM_HOME"] = THROWAWAY_HOME
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_sessionfinish(session, exitstatus) -> None:
    if THROWAWAY_HOME is not None:
        shutil.rmtree(THROWAWAY_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def litemedsam():
    from causal_sam_llm.segmentation.encoder_registry import build_backbone

    return build_backbone("litemedsam")


@pytest.fixture(scope="session")
def real_ct_slice():
    from causal_sam_llm.datasets.dicom_slice import read_dicom_slice
    from causal_sam_llm.datasets.sample_images import sample_path

    return read_dicom_slice(sample_path("abdomen_ct"))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def home_benchmark() -> Path:
    """A tiny built-in benchmark in the test home, so `benchmark:<id>` studies resolve as for a user."""
    from causal_sam_llm.datasets.benchmark.make import MANIFEST, BenchmarkSpec, make_benchmark
    from causal_sam_llm.datasets.protocol import default_benchmark_dir

    root = default_benchmark_dir()
    if not (root / MANIFEST).is_file():
        make_benchmark(root, BenchmarkSpec(**TINY_BENCHMARK_SPEC), progress=False)
    return root


@pytest.fixture(scope="session")
def llm_parser():
    """The real LLM (Qwen2.5-Coder-1.5B, llama.cpp), loaded once for every test that needs it."""
    from causal_sam_llm.agent.command_parser import CommandParser

    return CommandParser(["liver", "spleen", "right_kidney", "left_kidney"], "llm")


@pytest.fixture(scope="module")
def bench(home_benchmark, tmp_path_factory):
    """A workbench with the tiny benchmark's benchmark:mr_t2-0001 loaded and every organ segmented, one per test
    module: its tests undo what they change, so each module sees the segmentation as it came."""
    from causal_sam_llm.tools.registry import run_tool
    from causal_sam_llm.tools.workbench import Workbench

    workbench = Workbench.create(tmp_path_factory.mktemp("session"))
    run_tool(workbench, "load_study", {"study": "benchmark:mr_t2-0001"})
    run_tool(workbench, "segment", {"organ": "all"})
    return workbench


@pytest.fixture(scope="session")
def tiny_benchmark(tmp_path_factory) -> Path:
    """The tiny benchmark in a folder of its own, for runs given it with `--set benchmark=`."""
    from causal_sam_llm.datasets.benchmark.make import BenchmarkSpec, make_benchmark

    out = tmp_path_factory.mktemp("tiny")
    make_benchmark(out, BenchmarkSpec(**TINY_BENCHMARK_SPEC), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_lad(tiny_benchmark, tmp_path_factory) -> Path:
    """A LAD checkpoint trained for one epoch on the tiny benchmark, with a learned TCI response and ranker."""
    from causal_sam_llm.cli import main

    out = tmp_path_factory.mktemp("lad")
    assert main(train_args(tiny_benchmark, out, "lad")) == 0
    # no --set: the response trains on the data the run was trained on (its stored variables)
    assert main(["train-tci", "--checkpoint", str(out / "model.pt"), "--steps", "80"]) == 0
    ranker = ["train-tci-ranker", "--checkpoint", str(out / "model.pt"), "--epochs", "2", "--rounds", "2"]
    assert main(ranker) == 0
    return out / "model.pt"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots", action="store_true", help="rewrite tests/snapshots/*.svg from the current rendering"
    )


@pytest.fixture
def svg_snapshot(request: pytest.FixtureRequest, tmp_path: Path):
    """Compare an SVG screenshot with tests/snapshots/NAME.svg (written there with --update-snapshots)."""

    def check(name: str, svg: str) -> None:
        stored = Path(__file__).parent / "snapshots" / f"{name}.svg"
        if request.config.getoption("--update-snapshots"):
            stored.parent.mkdir(exist_ok=True)
            stored.write_text(svg)
            return
        update = f"pytest {request.node.nodeid} --update-snapshots"
        assert stored.is_file(), f"no snapshot {stored}; create it with: {update}"
        if svg != stored.read_text():
            actual = tmp_path / f"{name}.svg"
            actual.write_text(svg)
            raise AssertionError(
                f"screen differs from {stored} (this run's screen: {actual}); if the change is intended: {update}"
            )

    return check
