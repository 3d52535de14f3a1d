"""The tiny benchmark the tests build (4 abdominal cases of 48 × 48 × 12) and the CLI arguments that train a model on
it for one epoch."""

from pathlib import Path

TINY_BENCHMARK_SPEC = dict(
    cases=4, variant_cases=0, brain_cases=0, seed=3, abdomen_shape=(48, 48, 12), abdomen_spacing_mm=(7.3, 7.3, 20.0)
)


def train_args(benchmark: Path, out: Path, method: str) -> list[str]:
    """`causal-sam-llm train` of `method` on ct_to_mr of `benchmark` for one epoch, every 6th slice, on the CPU."""
    return [
        "train",
        "--protocol",
        "ct_to_mr",
        "--method",
        method,
        "--epochs",
        "1",
        "--slice-stride",
        "6",
        "--set",
        f"benchmark={benchmark}",
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
