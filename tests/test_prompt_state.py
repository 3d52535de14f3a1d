"""The LLM's evaluated system prompt is stored once and restored by a new model instance (a new process: `chat`,
`replay`, `parse`), which then evaluates only the new command and answers as the model that evaluated it all did."""

import numpy as np

from causal_sam_llm.agent.command_parser import CommandParser
from causal_sam_llm.agent.prompt_state import restore_prompt_state, state_path, store_prompt_state
from causal_sam_llm.paths import prompt_state_dir

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]
COMMANDS = [
    "make the liver smaller at the front",
    "enlarge the left kidny a lot at the back",
    "undo the last three changes",
]


def test_a_new_model_instance_restores_the_stored_prompt_and_answers_the_same(llm_parser):
    expected = [llm_parser.parse(text, []) for text in COMMANDS]  # the session's model has prepared (and stored)
    tokens = llm_parser.model._prompt_tokens(llm_parser.prefix)
    stored = state_path(llm_parser.model.llama, llm_parser.model.model_path, tokens)
    assert stored.is_file() and stored.parent == prompt_state_dir()
    with np.load(stored) as contents:
        assert contents["tokens"].tolist() == tokens and len(tokens) > 2000  # the prompt only, no command
    fresh = CommandParser(ORGANS, "llm")
    try:
        answers = []
        for text in COMMANDS:
            answers.append(fresh.parse(text, []))
            # the command and answer only: the ~2,300 prompt tokens came from the file
            assert fresh.model.last_timings["tokens_evaluated"] < 100, fresh.model.last_timings
        assert [a.model_dump() for a in answers] == [e.model_dump() for e in expected]
    finally:
        del fresh  # one second model in memory only as long as needed


def test_a_stored_prompt_that_does_not_fit_is_not_restored(llm_parser, tmp_path):
    llm_parser.parse("segment everything", [])
    llama = llm_parser.model.llama
    held = llama.input_ids[: llama.n_tokens].tolist()
    tokens = llm_parser.model._prompt_tokens(llm_parser.prefix)
    other = tmp_path / "other.npz"
    np.savez(other, tokens=np.asarray(tokens[:-1], dtype=np.int32), state=np.zeros(8, np.uint8))
    assert not restore_prompt_state(llama, other, tokens)  # another prompt's state: left alone, model untouched
    assert other.is_file() and llama.input_ids[: llama.n_tokens].tolist() == held
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 cut short")
    assert not restore_prompt_state(llama, broken, tokens)  # unreadable: removed, model untouched
    assert not broken.exists() and llama.input_ids[: llama.n_tokens].tolist() == held
    assert not restore_prompt_state(llama, tmp_path / "none.npz", tokens)
    assert llm_parser.parse("segment everything", []).tool == "segment"


def test_a_prompt_that_cannot_be_stored_leaves_the_model_answering(llm_parser, tmp_path):
    assert llm_parser.model.prepare(llm_parser.prefix)  # restored: the cache holds exactly the prompt
    tokens = llm_parser.model._prompt_tokens(llm_parser.prefix)
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    assert not store_prompt_state(llm_parser.model.llama, blocker / "state.npz", tokens)  # a read-only home alike
    assert list(tmp_path.iterdir()) == [blocker]
    assert llm_parser.parse("segment everything", []).tool == "segment"
