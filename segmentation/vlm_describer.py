"""A `StyleDescriber` backend where a vision-language model looks at the image and writes the style sentence, through
llama.cpp multimodal (a GGUF language model plus its mmproj vision projector, both given by path). No such weights
ship in any package this project can install offline, so this backend is opt-in (`train --vlm-model M --vlm-mmproj
P`); the measured profile stays the default. The numeric fields still come from the header and measurements: only
the sentence, which LAD's text encoder embeds, is the model's."""

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from causal_sam_llm.datasets.case import Case
from causal_sam_llm.errors import CheckpointError
from causal_sam_llm.segmentation.intensity import to_unit_range
from causal_sam_llm.segmentation.style_profile import StyleProfile, describe_style
from causal_sam_llm.segmentation.training_set import window_for

QUESTION = (
    "This is one axial slice of a medical scan. In one sentence, describe only its acquisition style: modality "
    "and sequence or contrast phase, overall contrast, noise, and any intensity non-uniformity. "
    "Do not describe anatomy."
)


class VisionLanguageStyleDescriber:
    def __init__(self, model_path: Path, mmproj_path: Path, n_threads: int = 2, max_tokens: int = 60) -> None:
        for role, path in (("language model GGUF", model_path), ("mmproj (vision projector) GGUF", mmproj_path)):
            if not Path(path).is_file():
                raise CheckpointError(f"the vision-language describer needs its {role}; not found: {path}")
        self.model_path, self.mmproj_path = Path(model_path), Path(mmproj_path)
        self.n_threads, self.max_tokens = n_threads, max_tokens
        self._llama: Any = None

    def describe(self, case: Case) -> StyleProfile:
        profile = describe_style(case)
        sentence = self.ask(middle_slice_png(case))
        return profile.model_copy(update={"backend": "vlm", "sentence": sentence})

    def ask(self, png: bytes) -> str:
        url = "data:image/png;base64," + base64.b64encode(png).decode()
        content = [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": QUESTION}]
        message = {"role": "user", "content": content}
        answer = self.llama.create_chat_completion(messages=[message], temperature=0.0, max_tokens=self.max_tokens)
        sentence = (answer["choices"][0]["message"]["content"] or "").strip()
        if not sentence:
            raise RuntimeError(f"the vision-language model {self.model_path.name} returned no description")
        return sentence

    @property
    def llama(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import MTMDChatHandler

            handler = MTMDChatHandler(clip_model_path=str(self.mmproj_path), verbose=False, use_gpu=False)
            self._llama = Llama(
                model_path=str(self.model_path),
                chat_handler=handler,
                n_ctx=4096,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llama


def middle_slice_png(case: Case) -> bytes:
    """The middle axial slice, windowed as a radiologist would view it, as 8-bit PNG bytes."""
    stack = case.axial_image()
    unit = to_unit_range(stack[len(stack) // 2][None], case.modality, window_for(case.label_set_name))[0]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(unit * 255, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
