"""One module per CLI subcommand: `add_parser(subparsers)` registers it; `run(args)` returns an exit code.

COMMANDS names the module of each subcommand and its one-line summary, so the CLI imports only the module of the
subcommand asked for: those modules pull in torch, MONAI, the LLM stack or Textual, and importing every one of them
made `causal-sam-llm --help` take 7 s and 1 GB."""

COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "print encoder, weights sha256, device and parameter counts"),
    "cache": ("cache", "inspect or clear the embedding cache"),
    "embed": ("embed", "embed one DICOM slice with the frozen encoder (cached)"),
    "data": ("data", "build, show and list data"),
    "train": ("train", "train LAD or a baseline on a protocol"),
    "eval": ("evaluate", "score checkpoints side by side (Dice, HD95 in mm)"),
    "train-tci": ("tci", "learn the TCI response of a trained checkpoint (adds it in place)"),
    "train-tci-ranker": ("tci_ranker", "learn where a correction's amount goes from the training domain's corrections"),
    "eval-tci": ("tci", "Dice/HD95 after 0..3 simulated corrections"),
    "eval-smooth": ("smooth", "organ Dice/HD95 after one smooth of each organ"),
    "parse": ("parse", "turn clinician text into a validated tool call"),
    "replay": ("replay", "replay correction sessions (eval_sessions/*.yaml)"),
    "chat": ("chat", "open the terminal chat"),
    "bench": ("bench", "run the benchmark suite; writes bench/results.md under the current folder"),
    "demo": ("demo", "run the demo"),
}


def summary(name: str) -> str:
    return COMMANDS[name][1]
