"""`LlamaToolCaller`: a LangChain chat model over llama-cpp-python that answers every turn with exactly one tool
call. `bind_tools(tools)` binds LangChain tools; each generation is constrained by the JSON schema of one
discriminated union over the bound tools plus `clarify` (`schema_emitter` + `GuidedDecoder`: forced JSON text is
evaluated in batches and the model only decides where the schema leaves a choice), so the output always parses into
one member. A `draft` answer passed to `invoke` is checked by the model in one batch instead of decided step by step
(same answer, fewer forward passes). Tool-call ids come from a counter here, never from the model. The system prompt
and few-shot prefix stay identical between calls, so their evaluated KV state is reused (only the new message is
processed); `prepare` restores that state from disk in a new process (`prompt_state`)."""

import itertools
import json
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr
from rich.console import Console
from rich.progress import Progress

from causal_sam_llm.agent.call_schema import (
    CLARIFY,
    ToolCallError,
    call_as_written,
    call_from_written,
    call_json_schema,
    restrict_choices,
    without_tool,
)
from causal_sam_llm.agent.guided_decoder import evaluate_prompt, guided_decode
from causal_sam_llm.agent.prompt_state import restore_prompt_state, state_path, store_prompt_state
from causal_sam_llm.agent.schema_emitter import as_emitted, emit_value


class LlamaToolCaller(BaseChatModel):
    model_path: str
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 96  # the longest free-text argument (a clarifying question, a path)
    seed: int = 0

    _llama: Any = PrivateAttr(default=None)
    _formatter: Any = PrivateAttr(default=None)
    _option_cache: dict = PrivateAttr(default_factory=dict)
    _ids: Any = PrivateAttr(default_factory=lambda: itertools.count(1))
    _last_timings: dict[str, float] = PrivateAttr(default_factory=dict)
    # the text and tokens of the latest prompt with its answer, and of that prompt alone, as the KV cache holds them
    _evaluated: list[tuple[str, list[int]]] = PrivateAttr(default_factory=list)

    @property
    def last_timings(self) -> dict[str, float]:
        """Wall time and token counts of the latest generation."""
        return dict(self._last_timings)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-tool-caller"

    @property
    def llama(self):
        if self._llama is None:
            from llama_cpp import Llama  # imported late: building/loading llama.cpp is only needed with the LLM

            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=self.seed,
                # read, not mapped: llama.cpp repacks the weights for its CPU kernels, and with a mapping the file's
                # pages stay resident beside the repacked copy (peak RSS 1.91 → 1.34 GiB, same speed)
                use_mmap=False,
                verbose=False,
            )
        return self._llama

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any):
        """Bind tools (LangChain tools, pydantic models or OpenAI dicts). Every answer is one call of one of them
        or `clarify`, so tool_choice is always "any"."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def prepare(self, messages: list[BaseMessage], progress: bool = False) -> bool:
        """Have the KV cache hold `messages` (the fixed system prompt and examples): restored from the stored state
        when there is one for exactly these tokens, else evaluated (about a minute on 2 cores; `progress` shows it)
        and stored. Returns whether it was restored."""
        tokens = self._prompt_tokens(messages)
        path = state_path(self.llama, self.model_path, tokens)
        if restore_prompt_state(self.llama, path, tokens):
            return True
        # on stderr: `parse --json` keeps stdout for the calls
        with Progress(transient=True, disable=not progress, console=Console(stderr=True)) as bar:
            task = bar.add_task("LLM system prompt (evaluated once, then stored)", total=len(tokens))
            evaluate_prompt(self.llama, tokens, lambda count: bar.advance(task, count))
        store_prompt_state(self.llama, path, tokens)
        return False

    def _conversation_tokens(self, messages: list[BaseMessage]) -> list[int]:
        """`_prompt_tokens`, but where the conversation goes on from the latest prompt and the model's answer to it
        (the next turn of a dialogue whose history shows the call as the model wrote it), those are kept as the
        tokens the model evaluated and wrote: the answer tokenized afresh differs from the decoder's tokens of the
        same text, and everything from there would be evaluated again (about 30 tokens a turn)."""
        return self._tokens_continuing(self._prompt_text(messages))

    def _tokens_continuing(self, prompt: str) -> list[int]:
        """The tokens of `prompt` text, starting with the kept tokens of the longest earlier text it goes on from."""
        for text, tokens in self._evaluated:  # the longest first
            if prompt.startswith(text):
                return tokens + self.llama.tokenize(prompt[len(text) :].encode(), add_bos=False, special=True)
        return self.llama.tokenize(prompt.encode(), add_bos=False, special=True)

    def _remember_evaluated(self, prompt: str, prompt_tokens: list[int], tokens: list[int]) -> None:
        """Keep `tokens` (`prompt_tokens` and the answer written after them) and `prompt_tokens` with their text, for
        `_conversation_tokens`: where the history shows another call than the model wrote (the guard rails changed
        it), the prompt alone is still the start of the next one. Only the answer is detokenized (the prompt's text
        is known); where it is not whole text (a character split between tokens), the prompt alone is kept."""
        self._evaluated = [(prompt, list(prompt_tokens))]
        try:
            answer = self.llama.detokenize(tokens[len(prompt_tokens) :], special=True).decode("utf-8")
        except UnicodeDecodeError:
            return
        self._evaluated.insert(0, (prompt + answer, list(tokens)))

    def _prompt_tokens(self, messages: list[BaseMessage]) -> list[int]:
        """The conversation in the model's own chat template (from the GGUF), ready for the answer."""
        return self.llama.tokenize(self._prompt_text(messages).encode(), add_bos=False, special=True)

    def _prompt_text(self, messages: list[BaseMessage]) -> str:
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            model = self.llama._model
            self._formatter = Jinja2ChatFormatter(
                template=self.llama.metadata["tokenizer.chat_template"],
                eos_token=model.token_get_text(self.llama.token_eos()),
                bos_token=model.token_get_text(self.llama.token_bos()),
            )
        return self._formatter(messages=[_to_chat(m) for m in messages]).prompt

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        tools: list[dict] | None = None,
        draft: str | None = None,
        organs: list[str] | None = None,
        regions: list[str] | None = None,
        may_ask_back: bool = True,
        **kwargs: Any,
    ) -> ChatResult:
        """`draft`: a likely answer in the output's JSON form; it speeds decoding up and never changes the answer.
        `organs`, `regions`: the values an answer may use (default: every value the tool schemas list).
        `may_ask_back`: False leaves `clarify` out, so the answer is a call of a bound tool."""
        start = time.perf_counter()
        schema = call_json_schema(tools or [])
        if not may_ask_back:
            schema = without_tool(schema, CLARIFY)
        if organs:
            schema = restrict_choices(schema, "organ", organs)
        if regions:
            schema = restrict_choices(schema, "region", regions)
        prompt = self._prompt_text(messages)
        prompt_tokens = self._tokens_continuing(prompt)
        decoder = guided_decode(
            self.llama,
            prompt_tokens,
            lambda d: emit_value(schema, d),
            self._option_cache,
            self.max_tokens,
            draft,
        )
        try:
            raw = json.loads(decoder.text, strict=False)
        except json.JSONDecodeError as exc:
            raise ToolCallError(f"the model's answer is malformed ({exc}): {decoder.text[:200]!r}") from exc
        self._remember_evaluated(prompt, prompt_tokens, decoder.tokens)
        usage = {"forward_passes": decoder.forward_passes, "tokens_evaluated": decoder.tokens_evaluated}
        self._last_timings = {"llm_ms": 1000 * (time.perf_counter() - start), **usage}
        name, args = call_from_written(raw)
        call = {"name": name, "args": args, "id": f"call_{next(self._ids)}", "type": "tool_call"}
        message = AIMessage(content="", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)], llm_output={"usage": usage})


def _to_chat(message: BaseMessage) -> dict:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, AIMessage) and message.tool_calls:
        call = message.tool_calls[0]
        return {
            "role": "assistant",
            "content": as_emitted(call_as_written(call["name"], call["args"])),  # as the model writes a call
        }
    if isinstance(message, ToolMessage):
        return {"role": "user", "content": f"(tool result) {message.content}"}
    return {"role": "assistant", "content": str(message.content)}
