"""Image evidence a correction adds to the decoder's: how much more typical a voxel's intensity is of the organ than
of the organ's surroundings, measured in the image being corrected (its own histograms, so it needs no training and
does not care which scanner or sequence made the image).

Why: in an unseen domain the decoder's logits rank the voxels a command may move only roughly (on the liver in T2 the
missed and the wrongly added voxels have nearly the same logits), while inside one image an organ's intensities
still differ from its neighbours'. The log-likelihood ratio is added to the logits before the commanded amount is
spent. Its weight was chosen on the TRAINING domain's simulated corrections (README, "TCI": `eval-tci --split train
--intensity-weight W --gate-band 1` for W in 0, 1, 2, 4, 8 on ct_to_mr's CT cases), not on the test domains."""

import numpy as np

INTENSITY_WEIGHT = 4.0
BINS = 32
MIN_SAMPLES = 50  # fewer voxels than this on either side give no usable histogram


def intensity_log_ratio(image: np.ndarray, organ: np.ndarray, surroundings: np.ndarray) -> np.ndarray:
    """log p(intensity | organ) − log p(intensity | surroundings) for every voxel of `image`, from histograms over
    the two boolean masks; zeros when either side is too small or the image is flat there."""
    if organ.sum() < MIN_SAMPLES or surroundings.sum() < MIN_SAMPLES:
        return np.zeros(image.shape, np.float32)
    low, high = np.percentile(image[organ | surroundings], [1, 99])
    if high <= low:
        return np.zeros(image.shape, np.float32)
    bins = np.clip(((image - low) / (high - low) * BINS).astype(np.int64), 0, BINS - 1)
    in_organ = np.bincount(bins[organ], minlength=BINS).astype(np.float64)
    around = np.bincount(bins[surroundings], minlength=BINS).astype(np.float64)
    pooled = in_organ + around
    seen = pooled > 0  # an intensity neither side shows is no evidence either way
    ratio = np.zeros(BINS)
    ratio[seen] = np.log(_smoothed(in_organ, pooled)[seen]) - np.log(_smoothed(around, pooled)[seen])
    return ratio[bins].astype(np.float32)


def _smoothed(counts: np.ndarray, pooled: np.ndarray) -> np.ndarray:
    """Frequencies shrunk toward the pooled histogram by BINS pseudo-counts: a bin that neither side fills gives no
    evidence (add-one smoothing would favour the smaller side in every sparse bin)."""
    prior = BINS * pooled / pooled.sum()
    return (counts + prior) / (counts.sum() + BINS)
