"""`GuidedDecoder`: greedy decoding on a llama.cpp model where the caller says what may come next.

Why not a grammar: with a grammar llama.cpp still runs one forward pass per output token, and most tokens of a JSON
tool call (keys, quotes, commas) are forced. Here the caller hands over fixed text (`literal`) and sets of allowed
continuations (`choose`); forced tokens are queued and evaluated together in one batch, and the model is consulted
only where the allowed continuations differ. The result equals grammar-constrained greedy decoding restricted to each
continuation's own tokenization, at a fraction of the forward passes.

A `draft` (a likely answer, e.g. from the keyword parser) makes it faster still: where the draft says which option
comes next, that option is taken at once and the decision is checked later, together with all others, in one batch
(speculative decoding with an outside draft). A decision the model does not confirm raises `Mispredicted`, and
`guided_decode` decodes again with the confirmed decisions known. The draft changes the speed, never the answer.

State: `tokens` is the prompt plus every answer token decided so far (evaluated lazily, in batches); `pending` text
is decided but not yet tokenized (it is tokenized together with whatever follows, so token merges across the
boundary look natural to the model); `decisions` holds the token taken at each point where the model had a say."""

import json
import re
from collections.abc import Callable
from typing import Any

import llama_cpp
import numpy as np

from causal_sam_llm.agent.call_schema import ToolCallError


class Mispredicted(Exception):
    """A drafted decision the model does not make; `decisions` are the confirmed ones, ending with the model's own."""

    def __init__(self, decisions: list[int]) -> None:
        super().__init__(f"draft rejected at decision {len(decisions) - 1}")
        self.decisions = decisions


def guided_decode(
    llama: Any,
    prompt_tokens: list[int],
    emit: Callable[["GuidedDecoder"], None],
    option_cache: dict | None = None,
    max_string_tokens: int = 96,
    draft: str | None = None,
) -> "GuidedDecoder":
    """Run `emit` on a decoder until its answer is confirmed by the model; returns that decoder (its `text` is the
    answer), with the forward passes and tokens of all attempts counted."""
    known: list[int] = []
    passes = evaluated = 0
    while True:
        decoder = GuidedDecoder(llama, prompt_tokens, option_cache, max_string_tokens, draft, known)
        try:
            emit(decoder)
            decoder.confirm()
        except Mispredicted as miss:
            known = miss.decisions  # one decision longer than before: the loop ends
            continue
        finally:
            passes += decoder.forward_passes
            evaluated += decoder.tokens_evaluated
        decoder.forward_passes, decoder.tokens_evaluated = passes, evaluated
        return decoder


def evaluate_prompt(llama: Any, prompt_tokens: list[int], advance: Callable[[int], None] | None = None) -> int:
    """Bring the model's KV cache up to `prompt_tokens` exactly, in the batches a decode would use (so a later
    decode reuses it as its own); `advance` is told how many tokens each batch held. Returns the tokens evaluated."""
    evaluated = 0
    for end in range(llama.n_batch, len(prompt_tokens) + llama.n_batch, llama.n_batch):
        decoder = GuidedDecoder(llama, prompt_tokens[: min(end, len(prompt_tokens))])
        decoder._evaluate()  # drops whatever the cache held beyond the prompt's common prefix
        evaluated += decoder.tokens_evaluated
        if advance is not None:
            advance(min(end, len(prompt_tokens)) - (end - llama.n_batch))
    return evaluated


class GuidedDecoder:
    def __init__(
        self,
        llama: Any,
        prompt_tokens: list[int],
        option_cache: dict | None = None,
        max_string_tokens: int = 96,
        draft: str | None = None,
        known: list[int] | None = None,
    ) -> None:
        if len(prompt_tokens) + 64 > llama.n_ctx():
            raise ToolCallError(f"the conversation is too long for the model's context ({len(prompt_tokens)} tokens)")
        self.llama = llama
        self.max_string_tokens = max_string_tokens
        self.draft = draft
        self.known = list(known or [])
        self.text = ""  # everything decided so far: the answer
        self.pending = ""
        self.ahead = ""  # text a choice already wrote that the next literal starts with (a number's end comma)
        self.tokens = list(prompt_tokens)
        self.decisions: list[int] = []
        self.unchecked: list[tuple[int, int, list[int]]] = []  # drafted: (decision index, position, candidates)
        self.forward_passes = 0
        self.tokens_evaluated = 0
        # tokenized options by (pending text, options), the stop tokens, the vocabulary: the same in every call
        self._options = option_cache if option_cache is not None else {}
        if "stops" not in self._options:
            self._options["stops"] = _stop_tokens(llama)
        self._stops = self._options["stops"]

    def literal(self, text: str) -> None:
        if self.ahead:
            if not text.startswith(self.ahead):
                raise ToolCallError(f"internal: expected {self.ahead!r} before {text!r}")
            text = text[len(self.ahead) :]
            self.ahead = ""
        self.pending += text
        self.text += text

    def choose(self, options: list[str], aheads: list[str] | None = None) -> int:
        """Index of the option the model prefers, by greedy descent through the options' token trie."""
        sequences = self._option_tokens(options)
        self.pending = ""
        drafted = self._drafted_option(options)
        alive = list(range(len(options)))
        depth = 0
        while True:
            finished = [i for i in alive if len(sequences[i]) == depth]
            next_tokens = {sequences[i][depth] for i in alive if len(sequences[i]) > depth}
            if finished:  # options end with a terminator, so a finished one has no longer rival in practice
                chosen = finished[0]
                break
            if len(next_tokens) == 1:
                token = next_tokens.pop()
            else:
                guess = sequences[drafted][depth] if drafted in alive else None
                token = self._decide(sorted(next_tokens), guess)
            self.tokens.append(token)
            alive = [i for i in alive if len(sequences[i]) > depth and sequences[i][depth] == token]
            depth += 1
        self.text += options[chosen]
        self.ahead = aheads[chosen] if aheads else ""
        return chosen

    def free_string(self) -> str:
        """The body of a JSON string whose opening quote is already written, generated freely up to the closing
        quote (written here). Returns the decoded string."""
        tokens = self._tokenize(self.pending)
        self.pending = ""
        # token healing: the quote's own token is taken back, and the first token must start with its text, so the
        # model may write the quote merged with what follows (' "/' in ' "/data/...') as it would unconstrained
        healed = self.llama.detokenize(tokens[-1:])
        self.tokens += tokens[:-1]
        unqueued = healed  # the quote's text until a generated token that carries it is queued
        body = b""
        for step in range(self.max_string_tokens):
            token = self._decide(self._tokens_starting_with(healed) if step == 0 else None, None)
            if token in self._stops:
                break
            piece = self.llama.detokenize([token])
            if step == 0:
                piece = piece[len(healed) :]
            end = _closing_quote(body + piece, len(body))
            if end is not None:
                # the token runs past the quote (e.g. '."}'): keep the text before it, to be tokenized with what follows
                self.pending = (body + piece)[len(body) : end].decode("utf-8", "ignore")
                body = (body + piece)[:end]
                break
            body += piece
            self.tokens.append(token)
            unqueued = b""
        text = body.decode("utf-8", "ignore")
        self.text += text + '"'
        self.pending = unqueued.decode() + self.pending + '"'
        try:
            return json_string(text)
        except ValueError:
            return text

    def confirm(self) -> None:
        """Check the drafted decisions not yet checked (raises `Mispredicted` at the first the model rejects)."""
        if self.unchecked:
            # forced text after the last drafted decision is never evaluated: no decision depends on it
            self._evaluate(end=max(position for _, position, _ in self.unchecked) + 1)

    def _decide(self, candidates: list[int] | None, guess: int | None) -> int:
        """The token at a point where the model has a say (`candidates`; None: any token): known from an earlier
        attempt, taken from the draft (checked later), or the model's greedy pick now."""
        index = len(self.decisions)
        if index < len(self.known):
            token = self.known[index]
        elif guess is not None:
            self.unchecked.append((index, len(self.tokens) - 1, candidates))
            token = guess
        else:
            token = _best(self._evaluate(), candidates)
        self.decisions.append(token)
        return token

    def _drafted_option(self, options: list[str]) -> int | None:
        """The option the draft writes next, if the draft still fits the answer so far."""
        if self.draft is None:
            return None
        if self.draft.startswith(self.text):
            rest = self.draft[len(self.text) :]
        else:  # the answer left the draft: realign on the key being written (`"region":`) when the draft has it
            key = re.search(r'"\w+":$', self.text)
            if key is None or key.group() not in self.draft:
                return None
            rest = self.draft[self.draft.index(key.group()) + len(key.group()) :]
        return next((i for i, option in enumerate(options) if rest.startswith(option)), None)

    def _tokens_starting_with(self, prefix: bytes) -> list[int]:
        key = ("tokens starting with", prefix)
        if key not in self._options:
            if "vocabulary" not in self._options:
                self._options["vocabulary"] = [self.llama.detokenize([t]) for t in range(self.llama.n_vocab())]
            self._options[key] = [t for t, text in enumerate(self._options["vocabulary"]) if text.startswith(prefix)]
        return self._options[key]

    def _option_tokens(self, options: list[str]) -> list[list[int]]:
        key = (self.pending, tuple(options))
        if key not in self._options:
            self._options[key] = [self._tokenize(self.pending + option) for option in options]
        return self._options[key]

    def _tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode(), add_bos=False, special=False) if text else []

    def _evaluate(self, end: int | None = None) -> np.ndarray:
        """Bring the model up to date with `tokens[:end]` (default all) in one batch, check the drafted decisions on
        the way, and return the logits after the last of those tokens."""
        end = len(self.tokens) if end is None else end
        last = end - 1
        rows = self._decode({position for _, position, _ in self.unchecked} | {last}, end)
        for index, position, candidates in self.unchecked:
            best = _best(rows[position], candidates)
            if best != self.decisions[index]:
                raise Mispredicted([*self.decisions[:index], best])
        self.unchecked = []
        return rows[last]

    def _decode(self, positions: set[int], end: int) -> dict[int, np.ndarray]:
        """Evaluate the tokens of `tokens[:end]` the KV cache lacks (the cached prefix of earlier calls and attempts
        is kept: system prompt, examples, earlier turns) and return the logits at `positions`, which must all be
        re-evaluated."""
        llama = self.llama
        same = _common_prefix(llama.input_ids[: llama.n_tokens].tolist(), self.tokens)
        same = min(same, *positions)
        llama._ctx.kv_cache_seq_rm(-1, same, -1)
        llama.n_tokens = same
        rows = {}
        for start in range(same, end, llama.n_batch):
            chunk = self.tokens[start : min(start + llama.n_batch, end)]
            wanted = _fill_batch(llama._batch.batch, chunk, start, positions)
            llama._ctx.decode(llama._batch)
            llama.input_ids[start : start + len(chunk)] = chunk
            llama.n_tokens = start + len(chunk)
            self.forward_passes += 1
            self.tokens_evaluated += len(chunk)
            for position in wanted:
                pointer = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, position - start)
                rows[position] = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()
        return rows


def _fill_batch(batch: Any, tokens: list[int], start: int, positions: set[int]) -> list[int]:
    """Write `tokens` (at `start`, sequence 0) into a llama_batch, asking for logits at `positions`; returns those
    positions that fall in this batch."""
    batch.n_tokens = len(tokens)
    wanted = []
    for i, token in enumerate(tokens):
        batch.token[i] = token
        batch.pos[i] = start + i
        batch.seq_id[i][0] = 0
        batch.n_seq_id[i] = 1
        batch.logits[i] = (start + i) in positions
        if batch.logits[i]:
            wanted.append(start + i)
    return wanted


def _best(logits: np.ndarray, candidates: list[int] | None) -> int:
    if candidates is None:
        return int(np.argmax(logits))
    return candidates[int(np.argmax(logits[candidates]))]


def _common_prefix(a: list[int], b: list[int]) -> int:
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    return same


def _stop_tokens(llama: Any) -> set[int]:
    stops = {llama.token_eos()}
    for name in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
        ids = llama.tokenize(name.encode(), add_bos=False, special=True)
        if len(ids) == 1:
            stops.add(ids[0])
    return stops


def _closing_quote(data: bytes, start: int) -> int | None:
    """Offset of the first unescaped '"' at or after `start`."""
    for offset in range(start, len(data)):
        if data[offset : offset + 1] == b'"':
            backslashes = len(data[:offset]) - len(data[:offset].rstrip(b"\\"))
            if backslashes % 2 == 0:
                return offset
    return None


def json_string(body: str) -> str:
    return json.loads(f'"{body}"', strict=False)
