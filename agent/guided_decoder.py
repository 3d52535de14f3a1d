"""`GuidedDecoder`: greedy decoding on a llama.cpp model where the caller says what may come next.

Why not a grammar: with a grammar llama.cpp still runs one forward pass per output token, and most tokens of a JSON
tool call (keys, quotes, commas) are forced. Here the caller hands over fixed text (`literal`) and sets of allowed
continuations (`choose`); forced tokens are queued and evaluated together in one batch, and the model is consulted
only where the allowed continuations differ. The result equals grammar-constrained greedy decoding restricted to each
continuation's own tokenization, at a fraction of the forward passes.

State: `queued` tokens are decided but not yet evaluated; `pending` text is decided but not yet tokenized (it is
tokenized together with whatever follows, so token merges across the boundary look natural to the model)."""

import json
from typing import Any

import llama_cpp
import numpy as np

from causal_sam_llm.agent.call_schema import ToolCallError


class GuidedDecoder:
    def __init__(
        self,
        llama: Any,
        prompt_tokens: list[int],
        option_cache: dict | None = None,
        max_string_tokens: int = 96,
    ) -> None:
        self.llama = llama
        self.max_string_tokens = max_string_tokens
        self.text = ""  # everything decided so far: the answer
        self.pending = ""
        self.ahead = ""  # text a choice already wrote that the next literal starts with (a number's end comma)
        self.forward_passes = 0
        self.tokens_evaluated = 0
        self.queued = self._reuse_cached_prefix(prompt_tokens)
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
                logits = self._logits()
                candidates = sorted(next_tokens)
                token = candidates[int(np.argmax(logits[candidates]))]
            self.queued.append(token)
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
        self.queued += tokens[:-1]
        unqueued = healed  # the quote's text until a generated token that carries it is queued
        body = b""
        for step in range(self.max_string_tokens):
            logits = self._logits()
            allowed = self._tokens_starting_with(healed) if step == 0 else None
            token = allowed[int(np.argmax(logits[allowed]))] if allowed else int(np.argmax(logits))
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
            self.queued.append(token)
            unqueued = b""
        text = body.decode("utf-8", "ignore")
        self.text += text + '"'
        self.pending = unqueued.decode() + self.pending + '"'
        try:
            return json_string(text)
        except ValueError:
            return text

    def _tokens_starting_with(self, prefix: bytes) -> list[int]:
        key = ("tokens starting with", prefix)
        if key not in self._options:
            if "vocabulary" not in self._options:
                self._options["vocabulary"] = [self.llama.detokenize([t]) for t in range(self.llama.n_vocab())]
            self._options[key] = [t for t, text in enumerate(self._options["vocabulary"]) if text.startswith(prefix)]
        return self._options[key]

    def _reuse_cached_prefix(self, prompt_tokens: list[int]) -> list[int]:
        """Keep the part of the KV cache that matches the new prompt (the system prompt and examples, earlier turns);
        return the tokens that still need evaluating (at least one, so there are logits to read)."""
        cached = self.llama._input_ids
        same = 0
        for a, b in zip(cached, prompt_tokens, strict=False):
            if a != b:
                break
            same += 1
        same = min(same, len(prompt_tokens) - 1)
        if len(prompt_tokens) + 64 > self.llama.n_ctx():
            raise ToolCallError(f"the conversation is too long for the model's context ({len(prompt_tokens)} tokens)")
        self.llama.n_tokens = same  # eval() drops the KV cache from here on
        return list(prompt_tokens[same:])

    def _option_tokens(self, options: list[str]) -> list[list[int]]:
        key = (self.pending, tuple(options))
        if key not in self._options:
            self._options[key] = [self._tokenize(self.pending + option) for option in options]
        return self._options[key]

    def _tokenize(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode(), add_bos=False, special=False) if text else []

    def _logits(self) -> np.ndarray:
        """Evaluate the queued tokens in one batch; the logits after the last of them."""
        self.llama.eval(self.queued)
        self.forward_passes += 1
        self.tokens_evaluated += len(self.queued)
        self.queued = []
        pointer = llama_cpp.llama_get_logits_ith(self.llama._ctx.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llama.n_vocab(),))


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
