"""A mask version stored as what changed from its parent: the smallest box (slices × organs × rows × cols) holding
every changed value, and the new float16 values inside it — all of them, or, when the parent's values are at hand,
only the changed ones with a bit per value of the box saying which (a correction's gate changes about a fifth of
its box's values: a 512² liver grow's patch is then about 6 instead of 18 MB). A correction changes one organ near
its boundary, so on a 512² study of 120 slices its version is a few MB written in milliseconds instead of 250 MB
written in a second (measured in `python -m causal_sam_llm.bench.tci --size 512`)."""

import io

import numpy as np

Box = tuple[slice, ...]


def changed_box(parent: np.ndarray, child: np.ndarray, within: Box | None = None) -> Box | None:
    """The smallest box outside which `child` equals `parent` exactly; None when nothing changed. `within`: a box the
    caller knows every change lies in (only it is compared: a correction's window, not a 420 MB volume)."""
    if within is not None:
        inner = changed_box(parent[within], child[within])
        return None if inner is None else _shifted(inner, within, parent.shape)
    changed = parent != child
    spans = []
    for axis in range(changed.ndim):
        others = tuple(a for a in range(changed.ndim) if a != axis)
        hit = np.nonzero(changed.any(axis=others))[0]
        if hit.size == 0:
            return None
        spans.append(slice(int(hit[0]), int(hit[-1]) + 1))
        changed = changed[(slice(None),) * axis + (spans[-1],)]  # later axes only look inside the box so far
    return tuple(spans)


def _shifted(inner: Box, outer: Box, shape: tuple[int, ...]) -> Box:
    """A box found inside `outer`'s part of an array, placed on the whole array."""
    starts = [span.indices(size)[0] for span, size in zip(outer, shape, strict=False)]
    starts += [0] * (len(inner) - len(starts))
    return tuple(slice(start + span.start, start + span.stop) for start, span in zip(starts, inner, strict=True))


def enclosing_box(boxes: list[Box]) -> Box | None:
    """The smallest box holding every one of `boxes` (None when there are none)."""
    if not boxes:
        return None
    return tuple(
        slice(min(b[axis].start for b in boxes), max(b[axis].stop for b in boxes)) for axis in range(len(boxes[0]))
    )


def patch_bytes(box: Box | None, values: np.ndarray, changed: np.ndarray | None = None) -> bytes:
    """The .npz of a patch: the box's start and the float16 values inside it (an empty patch when `box` is None); with
    `changed` (bool, the box's shape), only the values it marks, and it packed to bits."""
    start = np.array([s.start for s in box] if box is not None else [], np.int64)
    stream = io.BytesIO()
    if changed is None:
        np.savez(stream, start=start, values=values.astype(np.float16))
    else:
        shape = np.array(changed.shape, np.int64)
        np.savez(stream, start=start, shape=shape, changed=np.packbits(changed, axis=None), values=values[changed])
    return stream.getvalue()


def patch_box(patch_file) -> Box | None:
    """The box a patch file's values fill (None for an empty patch)."""
    with np.load(patch_file) as patch:
        start = patch["start"]
        shape = tuple(patch["shape"]) if "shape" in patch else patch["values"].shape
    return tuple(slice(int(a), int(a) + n) for a, n in zip(start, shape, strict=True)) if start.size else None


def applied_patch(parent: np.ndarray, patch_file) -> np.ndarray:
    """A float32 copy of `parent` with the patch read from `patch_file` written in."""
    child = parent.copy()
    with np.load(patch_file) as patch:
        start, values = patch["start"], patch["values"]
        if "changed" in patch:
            shape = tuple(int(n) for n in patch["shape"])
            changed = np.unpackbits(patch["changed"], count=int(np.prod(shape))).view(bool).reshape(shape)
            inside = child[tuple(slice(int(a), int(a) + n) for a, n in zip(start, shape, strict=True))]  # a view
            inside[changed] = values
            return child
    if start.size:
        child[tuple(slice(int(a), int(a) + n) for a, n in zip(start, values.shape, strict=True))] = values
    return child
