"""What a clinician waits for: the `intervene_decoder` tool call end to end (the correction, the check that a mask
changed, the new version written, the reply's volumes and notes) on a clinical 512² study of 100 slices, with
glibc's default handling of freed memory and with freed memory kept (causal_sam_llm/heap.py, what the
`causal-sam-llm` command does); also the study's first segmentation (the decoder over every slice) before them. Each
setting runs in its own fresh process (an allocator setting holds for a whole process), the two alternating; each
process loads the study, segments it, waits for the box evidence and gives the liver corrections alternately grown
and shrunk.

    python -m causal_sam_llm.bench.tool_latency [--rounds 2] [--corrections 10]"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.bench.tci import benchmark_volume
from causal_sam_llm.datasets.orientation import axial_stack_to_ras
from causal_sam_llm.heap import keep_freed_memory
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

SETTINGS = {"default": "glibc's default (freed blocks handed back)", "kept": "freed memory kept (shipped)"}


def write_study(folder: Path, slices: int, size: int) -> tuple[Path, np.ndarray]:
    """A benchmark MR volume resampled to size² (bench/tci.py's `benchmark_volume`) as a NIfTI the tools load;
    returns its path and the axial stack the workbench must read back from it."""
    _case, volume, spacing = benchmark_volume(slices, size)
    data = axial_stack_to_ras(volume).astype(np.float32)  # voxel axes: columns, rows, slices
    affine = np.diag([spacing[2], spacing[1], spacing[0], 1.0])
    path = folder / f"study{size}.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    return path, volume


def corrections(slices: int, size: int, count: int) -> dict:
    """One process's run: the first correction's and the later ones' tool and re-decode seconds, and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="csl-latency-") as folder:  # the study and its versions: ~0.4 GB
        return _corrections_in(Path(folder), slices, size, count)


def _corrections_in(folder: Path, slices: int, size: int, count: int) -> dict:
    study, volume = write_study(folder, slices, size)
    bench = Workbench.create(folder / "session")
    run_tool(bench, "load_study", {"study": str(study)})  # embedded here, or read from the embedding cache
    if not np.allclose(bench.axial_image(), volume):
        raise RuntimeError("the study was read back in another orientation than it was written")
    start = time.perf_counter()
    run_tool(bench, "segment", {"organ": "all"})  # the decoder over every slice
    segment_s = time.perf_counter() - start
    bench.wait_for_box_evidence()
    tool_s, decode_s = [], []
    for number in range(count):
        action = "expand" if number % 2 == 0 else "shrink"
        command = {"organ": "liver", "action": action, "region": "whole", "strength": 0.3}
        start = time.perf_counter()
        result = run_tool(bench, "intervene_decoder", command)
        tool_s.append(time.perf_counter() - start)
        decode_s.append(result.elapsed_ms / 1000)
    return {
        "segment_s": segment_s,
        "tool_s": tool_s,
        "decode_s": decode_s,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,  # Linux reports KiB
    }


def _worker(setting: str, slices: int, size: int, count: int) -> None:
    if setting == "kept" and not keep_freed_memory():
        raise RuntimeError("this C library does not take glibc's mallopt settings")
    print(json.dumps(corrections(slices, size, count)))


def _run(setting: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, "-m", "causal_sam_llm.bench.tool_latency", "--worker", setting]
    command += ["--slices", str(args.slices), "--size", str(args.size), "--corrections", str(args.corrections)]
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout  # its errors shown
    return json.loads(output.strip().splitlines()[-1])


def _row(setting: str, runs: list[dict]) -> list[str]:
    def seconds(values: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    first_tool = [run["tool_s"][0] for run in runs]
    first_decode = [run["decode_s"][0] for run in runs]
    later_tool = [statistics.median(run["tool_s"][1:]) for run in runs]
    later_decode = [statistics.median(run["decode_s"][1:]) for run in runs]
    return [
        SETTINGS[setting],
        f"{seconds([run['segment_s'] for run in runs])} s",
        f"{seconds(first_tool)} s ({seconds(first_decode)} s)",
        f"{seconds(later_tool)} s ({seconds(later_decode)} s)",
        f"{seconds([max(run['tool_s'][1:]) for run in runs])} s",
        " / ".join(f"{run['peak_rss_gib']:.2f}" for run in runs),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--corrections", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("bench/results/tool_latency.md"))
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.slices, args.size, args.corrections)
        return 0
    runs: dict[str, list[dict]] = {setting: [] for setting in SETTINGS}
    for round_number in range(args.rounds):
        for setting in SETTINGS if round_number % 2 == 0 else reversed(SETTINGS):
            print(f"round {round_number + 1}: {setting}", flush=True)
            runs[setting].append(_run(setting, args))
    header = [
        "freed memory",
        "segment all",
        "first correction: tool (re-decode)",
        "median of the later ones",
        "slowest of the later ones",
        "peak RSS GiB",
    ]
    body = (
        f"The liver of a {args.slices}-slice {args.size}² MR study (a benchmark case resampled), "
        f"{args.corrections} corrections per process (strength 0.3, grown and shrunk in turn), {args.rounds} "
        "processes per setting, alternating; each figure is one process's, in the order run. Tool: the "
        "`intervene_decoder` call end to end; re-decode: the correction itself, as its reply says. Segment all: the "
        "`segment` call, the decoder over every slice. From 9 corrections on, the slowest includes the ninth, the "
        "first whose parent lies a whole patch chain deep (tools/mask_history.py).\n\n"
        + markdown_table(header, [_row(setting, runs[setting]) for setting in SETTINGS])
    )
    write_section(
        args.out,
        f"The correction tool end to end at {args.size}²",
        command_line("causal_sam_llm.bench.tool_latency", argv),
        body,
    )
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
