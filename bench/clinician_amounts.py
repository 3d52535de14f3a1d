"""How far the simulated clinician asks an edge to move, read from the commands in eval-tci JSONs with the agent's own
amount reader (agent/amount_words.py): the distribution that an unsaid amount's cap (segmentation/tci_amount.py,
UNSAID_REACH_MM) is set against.

    python -m causal_sam_llm.bench.clinician_amounts results/tci_ct_to_mr.json results/tci_cross_scanner.json ...
"""

import argparse
import json
from collections import Counter
from pathlib import Path

from causal_sam_llm.agent.amount_words import FULL_STRENGTH_MM, SMALL, stated_amount


def requested_mm(paths: list[Path], strategy: str = "learned") -> list[float]:
    """The reach (mm) of every grow or shrink command `strategy`'s rounds carry out; commands without an amount
    (smoothing, deletions) are left out."""
    reaches = []
    for path in paths:
        for row in json.loads(path.read_text())["rounds"]:
            amount = stated_amount(row["command"]) if row["strategy"] == strategy and row["command"] else None
            if amount is not None:
                reaches.append(round(amount * FULL_STRENGTH_MM, 1))
    return reaches


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsons", nargs="+", type=Path)
    parser.add_argument("--strategy", default="learned")
    args = parser.parse_args(argv)
    reaches = requested_mm(args.jsons, args.strategy)
    little_mm = SMALL * FULL_STRENGTH_MM
    at_most = sum(mm <= little_mm for mm in reaches)
    share = 100 * at_most / len(reaches)
    median = sorted(reaches)[len(reaches) // 2]
    print(f"{len(reaches)} commands with an amount; {at_most} ({share:.0f} %) ask for at most {little_mm:g} mm")
    print(f"('a little'); median {median:g} mm")
    for mm, count in sorted(Counter(reaches).items()):
        print(f"{mm:>6g} mm  {count}")


if __name__ == "__main__":
    main()
