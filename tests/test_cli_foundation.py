"""`info` and `cache` as a user runs them; the command's own start-up."""

import argparse
import re
import subprocess
import sys

from rich.console import Console

from causal_sam_llm.cli import build_parser, main
from causal_sam_llm.commands import COMMANDS
from causal_sam_llm.commands.info import read_shipped, shipped_table
from causal_sam_llm.segmentation.checkpoint_io import shipped_checkpoints


def test_info_prints_encoder_sha256_and_parameter_counts(capsys):
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "litemedsam" in out
    unfolded = re.sub(r"[\s│]", "", out)  # the table folds the long hash over two lines
    assert "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76" in unfolded
    assert "9,791,300 frozen" in out
    assert "92,100 (adapter" in out
    assert "0.93% (budget: under 8%)" in out
    assert "25,094 (FiLM generator and learned ranker" in out  # 7,616 + 3 × 5,826
    assert "117,194: 1.18% (budget: under 8%)" in out
    assert "cpu" in out


def test_info_lists_what_each_shipped_checkpoint_was_trained_with(capsys):
    """The README's parameter counts and training minutes come from here; every trained model stays under 8 %
    except the full-decoder baseline, which exists to show what training the whole decoder costs."""
    assert main(["info", "--shipped"]) == 0
    out = capsys.readouterr().out
    assert "ct_to_mr/lad: causal-sam-llm train --protocol ct_to_mr --method lad" in out  # after the table
    wide = Console(width=250, record=True)  # one line per checkpoint, whatever the terminal
    wide.print(shipped_table(read_shipped(shipped_checkpoints())))
    rows = {line.split()[0]: line.split()[1:] for line in wide.export_text().splitlines() if "%)" in line}
    assert set(rows) >= {"ct_to_mr/lad", "ct_to_mr/erm", "ct_to_mr/aug", "ct_to_mr/full_decoder", "cross_scanner/lad"}
    assert rows["ct_to_mr/lad"][:2] == ["190,788", "(1.91%)"]
    assert rows["ct_to_mr/lad"][-1] == "143" and rows["ct_to_mr/erm"][-1] == "none"  # the learned TCI ranker's
    assert rows["cross_scanner/lad"][-1] == "48"  # its own, from its 8 scanner-A training cases
    narrow = Console(width=80, record=True)  # a command column had folded each row into a dozen lines
    narrow.print(shipped_table(read_shipped(shipped_checkpoints())))
    assert len(narrow.export_text().splitlines()) <= 2 * len(rows) + 10
    fractions = {name: float(re.search(r"\(([\d.]+)%\)", " ".join(cells)).group(1)) for name, cells in rows.items()}
    assert all(f < 8 for name, f in fractions.items() if not name.endswith("full_decoder"))


def test_cache_info_and_clear(tmp_path, capsys):
    import numpy as np

    from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache

    EmbeddingCache(tmp_path).put("aa" * 32, np.zeros((2, 2), np.float16))
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert "entries: 1" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 embeddings" in capsys.readouterr().out
    assert EmbeddingCache(tmp_path).entries() == []


def test_the_top_level_help_lists_every_subcommand_without_importing_their_modules():
    """`causal-sam-llm --help` took 7 s and 1 GB when every subcommand's module (torch, MONAI, the LLM stack,
    Textual) was imported to list them."""
    probe = (
        "import sys; from causal_sam_llm.cli import build_parser; help = build_parser().format_help(); "
        "print(sorted(m for m in ('torch', 'monai', 'langchain_core', 'llama_cpp', 'textual') if m in sys.modules)); "
        "print(help)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded, help_text = out.split("\n", 1)
    assert loaded == "[]"
    assert all(name in help_text and summary.split()[0] in help_text for name, (_, summary) in COMMANDS.items())


def test_each_subcommand_is_registered_by_the_module_the_table_names():
    for name in COMMANDS:
        parser = build_parser(name)
        choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        assert set(choices) == set(COMMANDS)  # the others stay listed
        assert len(choices[name]._actions) > 1, name  # its own arguments, not only --help: the module's parser


def test_parse_prints_the_words_as_typed_beside_their_call(capsys):
    """The human-readable `parse` line shows the clinician's words in bold, brackets and all, not markup tags."""
    assert main(["parse", "[draft] grow the liver a little", "--llm", "none"]) == 0
    out = capsys.readouterr().out
    assert "[draft] grow the liver a little →" in out and "[bold]" not in out
    assert '"organ":"liver"' in out
