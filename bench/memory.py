"""Peak memory of the agent as the chat runs it: the segmenter and the LLM loaded, a benchmark study open, one
segmentation and one LLM-parsed correction done. Peak RSS of this process (what `chat` holds).

    python -m causal_sam_llm.bench.memory"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from causal_sam_llm.agent.assistant import Assistant
from causal_sam_llm.bench.report import command_line, markdown_table, write_section
from causal_sam_llm.heap import keep_freed_memory


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", default="benchmark:mr_t2-0011")
    parser.add_argument("--out", type=Path, default=Path("bench/results/memory.md"))
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the causal-sam-llm command runs (causal_sam_llm/heap.py)
    rows = []
    start = time.perf_counter()
    assistant = Assistant(Path(tempfile.mkdtemp(prefix="csl-bench-")) / "session")
    rows.append(["segmenter + LLM objects created", f"{peak_rss_gib():.2f}"])
    assistant.load(args.study)
    rows.append([f"study {args.study} open (embedded, decoder features cached)", f"{peak_rss_gib():.2f}"])
    assistant.ask("segment everything")
    rows.append(["after the first LLM command (model loaded, prompt evaluated)", f"{peak_rss_gib():.2f}"])
    assistant.ask("the liver is cut short toward the head, grow it")
    rows.append(["after one TCI correction", f"{peak_rss_gib():.2f}"])
    body = markdown_table(["stage", "peak RSS GiB"], rows) + f"\n\nTotal {time.perf_counter() - start:.0f} s."
    write_section(args.out, "Memory of the agent (chat)", command_line("causal_sam_llm.bench.memory", argv), body)
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
