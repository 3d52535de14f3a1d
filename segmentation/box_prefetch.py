"""The box evidence of every segmented organ, decoded in the background right after segmentation
(box_evidence.keep_for_corrections), so that segmentation returns as soon as the masks are ready and an organ's
first correction finds its box evidence kept instead of decoding it then (the liver's 93 slices: 3 s on 2 cores,
`make bench`).

The boxes come from the masks as segmented, copied when the pass starts, so what a correction weighs never depends
on when it was asked: a correction asked before the pass has ended waits for it (`wait`), and gets what eval-tci,
which decodes the same slices from the same masks in the foreground, measures."""

import threading
import time

import numpy as np

from causal_sam_llm.segmentation.backbone import FrozenSamBackbone
from causal_sam_llm.segmentation.box_evidence import keep_for_corrections
from causal_sam_llm.segmentation.decoded_volume import DecodedVolume


class BackgroundBoxEvidence:
    """One background pass over `organs` of `masks` (Z, C, rows, cols; copied), kept in `decoded`. Nothing else may
    decode box evidence into `decoded` until `wait` has returned."""

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
        arguments = (backbone, decoded, masks.copy(), list(organs), spacing_mm)
        # not a daemon: an interpreter that exits mid-pass lets it finish rather than kill it inside torch
        self._thread = threading.Thread(target=self._run, args=arguments, name="box-evidence")
        self._thread.start()

    def _run(self, *arguments) -> None:
        start = time.perf_counter()
        try:
            keep_for_corrections(*arguments)
        except BaseException as error:  # handed to whoever waits, rather than lost with the thread
            self._error = error
        self.seconds = time.perf_counter() - start

    def wait(self) -> None:
        """Returns when the pass has ended. Raises what went wrong in it, once (what it kept before stays kept)."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
