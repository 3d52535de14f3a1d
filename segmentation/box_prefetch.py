"""The box evidence of every segmented organ, decoded in the background right after segmentation
(box_evidence.keep_for_corrections), so that segmentation returns as soon as the masks are ready and an organ's
first correction finds its box evidence kept instead of decoding it then (the liver's 93 slices: 3 s on 2 cores,
`make bench`).

The boxes come from the masks as segmented, copied when the pass starts, so what a correction weighs never depends
on when it was asked: a correction asked before the pass has ended waits for its organ (`wait_for`: that organ is
decoded next, the one under way stopping after at most CHUNK_SLICES more slices), and gets what eval-tci, which
decodes the same slices from the same masks in the foreground, measures.

The pass only fills the time the clinician spends typing: while it is `paused` (the assistant parses a command, a
correction is applied) it stops before its next batch of two slices (tens of ms) and goes on afterwards. On 2 cores
the LLM's parse beside the pass took about twice as long as alone (`python -m causal_sam_llm.bench.foreground`)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from causal_sam_llm.segmentation.backbone import FrozenSamBackbone
from causal_sam_llm.segmentation.box_evidence import keep_boxed, organ_boxes, reachable_slices
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume

# how many slices the pass decodes before it looks whether a correction waits for another organ (about 0.3 s on
# 2 cores): a correction of a kidney need not wait for the whole liver
CHUNK_SLICES = 8


class BackgroundBoxEvidence:
    """One background pass over `organs` of `masks` (Z, C, rows, cols; copied), one organ after another, kept in
    `decoded`. Nothing else may decode an organ's box evidence into `decoded` before `wait_for` that organ (or
    `wait`) has returned."""

    def __init__(
        self,
        backbone: FrozenSamBackbone,
        decoded: DecodedVolume,
        masks: np.ndarray,
        organs: list[int],
        spacing_mm: tuple[float, float, float],
    ) -> None:
        self.seconds = 0.0
        self._error: BaseException | None = None
        self._queue = list(organs)  # organs not started (or put back) yet, the next first
        self._done: set[int] = set()
        self._waited_for: set[int] = set()
        self._finished = False
        self._changed = threading.Condition()
        self._pauses = 0  # the pass decodes only while no pause is open
        arguments = (backbone, decoded, masks.copy(), spacing_mm)
        # not a daemon: an interpreter that exits mid-pass lets it finish rather than kill it inside torch
        self._thread = threading.Thread(target=self._run, args=arguments, name="box-evidence")
        self._thread.start()

    def _run(self, backbone, decoded, masks, spacing_mm) -> None:
        start = time.perf_counter()
        try:
            while (organ := self._next_organ()) is not None:
                if self._decode_organ(backbone, decoded, masks[:, organ], organ, spacing_mm):
                    with self._changed:
                        self._done.add(organ)
                        self._changed.notify_all()
        except BaseException as error:  # handed to whoever waits, rather than lost with the thread
            self._error = error
        self.seconds = time.perf_counter() - start
        with self._changed:
            self._finished = True
            self._changed.notify_all()

    def _next_organ(self) -> int | None:
        with self._changed:
            return self._queue.pop(0) if self._queue else None

    def _decode_organ(self, backbone, decoded, mask: np.ndarray, organ: int, spacing_mm) -> bool:
        """Keeps `organ`'s box evidence on every slice a command could touch (box_evidence.keep_for_corrections),
        CHUNK_SLICES at a time; False when it stopped early because a correction waits for another organ (it is
        queued again right behind that one, and its kept slices are not redone)."""
        if not mask.any():
            return True
        slices = reachable_slices(mask, spacing_mm)
        boxes = organ_boxes(mask, np.asarray(slices), spacing_mm)
        for start in range(0, len(slices), CHUNK_SLICES):
            kept = decoded.box_logits.get(organ, {})
            todo = [i for i in range(start, min(start + CHUNK_SLICES, len(slices))) if slices[i] not in kept]
            if todo:
                chosen = [slices[i] for i in todo]
                keep_boxed(backbone, decoded, organ, chosen, [boxes[i] for i in todo], self._wait_while_paused)
            if self._another_is_waited_for(organ):
                return False
        return True

    def _another_is_waited_for(self, organ: int) -> bool:
        with self._changed:
            if self._queue and self._queue[0] in self._waited_for and self._queue[0] != organ:
                self._queue.insert(1, organ)
                return True
        return False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Inside the block the pass decodes nothing more (the batch under way, if any, ends first); pauses may
        overlap, and the pass goes on when the last one ends. Do not wait for the pass inside the block."""
        with self._changed:
            self._pauses += 1
        try:
            yield
        finally:
            with self._changed:
                self._pauses -= 1
                self._changed.notify_all()

    def _wait_while_paused(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._pauses == 0)

    def wait_for(self, organ: int) -> None:
        """Returns when `organ`'s box evidence is kept (decoding it next if the pass has not started it yet), or when
        the pass has ended without it. Raises what went wrong in the pass, once."""
        with self._changed:
            if organ in self._queue:
                self._queue.remove(organ)
                self._queue.insert(0, organ)
            self._waited_for.add(organ)
            self._changed.wait_for(lambda: organ in self._done or self._finished)
            self._waited_for.discard(organ)
        self._raise_error()

    def wait(self) -> None:
        """Returns when the pass has ended. Raises what went wrong in it, once (what it kept before stays kept)."""
        self._thread.join()
        self._raise_error()

    @property
    def finished(self) -> bool:
        with self._changed:
            return self._finished

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
