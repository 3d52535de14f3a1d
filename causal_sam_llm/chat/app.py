"""`ChatApp`: chat pane, slice pane with coloured organ overlays, an organ legend with volumes in ml, a status bar
(encoder, model, last timings) and a busy indicator. Model and segmenter work runs in thread workers, so the UI never
freezes; errors are shown in the chat, never as a traceback."""

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Header, Input, LoadingIndicator, RichLog, Static

from causal_sam_llm.agent.assistant import Assistant, Turn
from causal_sam_llm.chat.slice_pane import SlicePane, SliceScene


class ChatApp(App):
    CSS_PATH = "chat.tcss"
    TITLE = "Causal-SAM-LLM"
    BINDINGS = [  # noqa: RUF012 (Textual's own convention)
        Binding("pageup", "slice(1)", "slice ↑"),
        Binding("pagedown", "slice(-1)", "slice ↓"),
        Binding("ctrl+z", "undo", "undo"),
        # priority: the focused Input binds Ctrl+E itself (cursor to the end) and would take the key first
        Binding("ctrl+e", "export", "export", priority=True),
        Binding("ctrl+q", "quit", "quit"),
    ]
    slice_index: reactive[int] = reactive(0)
    busy: reactive[bool] = reactive(False)

    def __init__(
        self, assistant: Assistant, study: str | None = None, graphics: str = "halfblock", labels: str | None = None
    ) -> None:
        super().__init__()
        self.assistant = assistant
        self.study, self.labels = study, labels  # labels: the first study's reference label file, if any
        self.graphics = graphics  # resolved before the app runs (see chat.graphics)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield SlicePane(self.graphics, id="image-pane")
            with Vertical(id="chat-pane"):
                yield RichLog(id="log", wrap=True, markup=True)
                yield LoadingIndicator(id="busy")
                yield Input(placeholder="e.g. 'segment everything', 'grow the liver toward the head'", id="command")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        self.query_one("#command", Input).focus()
        self.say("assistant", f"Session folder: {self.assistant.session_dir}")
        resumed = self.assistant.bench.study_spec.get("study")
        if self.study and not self.assistant.bench.is_open(self.study):
            self.submit(f"open {self.study}", direct_load=self.study)
        elif resumed is not None:  # the same study again after a crash: carry on where the session was
            self.say("assistant", f"Resumed {resumed} at mask version {self._current_version()}.")
            self.slice_index = self.assistant.bench.depth // 2
            self.refresh_view()

    def say(self, who: str, text: str) -> None:
        colour = {"you": "cyan", "assistant": "green", "error": "red"}[who]
        self.query_one("#log", RichLog).write(f"[bold {colour}]{who}:[/] {text}")

    @on(Input.Submitted)
    def on_command(self, event: Input.Submitted) -> None:
        if self.busy:  # the text stays in the box, to be sent once the turn in progress is done
            self.notify("Still working on the last command; press Enter again when it is done.")
            return
        text = event.value
        event.input.value = ""
        self.submit(text)

    def submit(self, text: str, direct_load: str | None = None) -> None:
        self.say("you", text)
        self.busy = True
        self.run_turn(text, direct_load)

    @work(thread=True, exclusive=True)
    def run_turn(self, text: str, direct_load: str | None) -> None:
        try:
            turn = self.assistant.load(direct_load, self.labels) if direct_load else self.assistant.ask(text)
        except Exception as exc:  # the UI reports every failure in the chat, never as a traceback
            self.call_from_thread(self.finish, None, f"{type(exc).__name__}: {exc}")
            return
        self.call_from_thread(self.finish, turn, None)

    def finish(self, turn: Turn | None, error: str | None) -> None:
        self.busy = False
        if error is not None:
            self.say("error", error)
            return
        self.say("assistant" if turn.ok else "error", turn.reply)
        if turn.call.tool == "load_study" and turn.ok:
            self.slice_index = self.assistant.bench.depth // 2
        self.refresh_view()

    def watch_busy(self, busy: bool) -> None:
        if self.is_mounted:
            self.query_one("#busy").display = busy
            self.update_status()

    def watch_slice_index(self, _value: int) -> None:
        if self.is_mounted:
            self.refresh_view()

    def action_slice(self, step: int) -> None:
        # while a turn runs the worker may be swapping the study and masks under the view: wait for it
        if not self.busy and self.assistant.bench.case is not None:
            self.slice_index = max(0, min(self.assistant.bench.depth - 1, self.slice_index + step))

    def action_undo(self) -> None:
        if not self.busy:
            self.submit("undo")

    def action_export(self) -> None:
        if not self.busy:
            self.submit("export the masks")

    async def action_quit(self) -> None:
        if self.busy:  # quitting now would leave the worker writing a mask version the audit log may never record
            self.notify("Still working on the last command; quit when it is done.")
            return
        await super().action_quit()

    def _current_version(self) -> int | None:
        history = self.assistant.bench.history
        return None if history is None else history.current

    def update_status(self) -> None:
        bench = self.assistant.bench
        timing = "  ".join(f"{k} {v:.0f}" for k, v in self.assistant.last_timings_ms.items())
        model = self.assistant.parser.model_name
        state = "working…" if self.busy else "ready"
        self.query_one("#status", Static).update(
            f" {state} │ encoder {bench.segmenter.backbone.spec.name} │ "
            f"{bench.checkpoint.parent.name}/{bench.checkpoint.stem} │ LLM {model} │ {timing}"
        )

    def refresh_view(self) -> None:
        bench = self.assistant.bench
        self.update_status()
        if bench.case is None:
            return
        case = bench.require_case()
        image = bench.axial_image()
        self.slice_index = min(self.slice_index, len(image) - 1)
        segmented = bench.history is not None and bench.history.current is not None
        spacing = case.axial_spacing_mm()
        scene = SliceScene(
            plane=image[self.slice_index],
            masks=bench.masks()[self.slice_index] if segmented else None,
            row_col_aspect=spacing[1] / spacing[2],
            classes=tuple(bench.classes),
            index=self.slice_index,
            depth=bench.depth,
            volumes_ml=bench.organ_volumes_ml() if segmented else {},
        )
        self.query_one(SlicePane).show(scene)

    def legend_text(self) -> str:
        return self.query_one(SlicePane).legend()
