"""Diagnostic (not shipped): does a learned 3-D shape prior help place a correction's amount on MR?

For the simulated clinician's first 3 grows and shrinks of each case along the learned trajectory (as the placement
bench), the share of moved voxels set right by: the fixed sum, the shipped learned ranker, the prior's logits (clipped
to ±8) alone, and each with w × the prior added. Run from the repository root, after train_shape.py:
`python results/tci_shape_prior/score_shape.py test /tmp/shape_prior_net.pt` (2 min; score_shape_test.log).
"""

import sys
import time

sys.path.insert(0, "results/tci_shape_prior")
from pathlib import Path

import numpy as np
import torch
from shape_net import ShapeNet, prior_logits

from causal_sam_llm.datasets.protocol import load_protocol
from causal_sam_llm.paths import embedding_cache_dir
from causal_sam_llm.segmentation.box_evidence import BOX_WEIGHT, keep_for_corrections
from causal_sam_llm.segmentation.checkpoint_io import load_generator, load_segmenter
from causal_sam_llm.segmentation.clinician import choose_intervention
from causal_sam_llm.segmentation.decoded_volume import decode_volume, organ_probabilities
from causal_sam_llm.segmentation.embedder import SliceEmbedder
from causal_sam_llm.segmentation.embedding_cache import EmbeddingCache
from causal_sam_llm.segmentation.inference import embed_case
from causal_sam_llm.segmentation.intensity_evidence import INTENSITY_WEIGHT
from causal_sam_llm.segmentation.piece_removal import pieces_to_delete
from causal_sam_llm.segmentation.tci_apply import Evidence, StudyOnGrid, correct, placement_evidence
from causal_sam_llm.segmentation.tci_placement import OPEN, placed
from causal_sam_llm.segmentation.tci_ranker import ranked_in_gate
from causal_sam_llm.segmentation.tci_ranker_training import BLOCK, example_of
from causal_sam_llm.segmentation.tci_trajectory import PlacedCorrection, _masks
from causal_sam_llm.segmentation.training_set import class_masks

torch.set_grad_enabled(False)
torch.set_num_threads(2)
split = sys.argv[1]
ckpt = Path("trained/ct_to_mr/lad.pt")
segmenter, _ = load_segmenter(ckpt, "cpu")
generator = load_generator(ckpt, len(segmenter.classes))
embedder = SliceEmbedder(segmenter.backbone, EmbeddingCache(embedding_cache_dir()))
net = ShapeNet()
net.load_state_dict(torch.load(sys.argv[2]))
net.eval()
cases = load_protocol("ct_to_mr").case_list(split)
if len(sys.argv) > 3:
    cases = cases[int(sys.argv[3]) :: int(sys.argv[4])]
W = [0.25, 0.5, 1, 2, 4]
rows = ["fixed", "learned", "prior+0.01sum"] + [f"fixed+{w}p" for w in W] + [f"learned+{w}p" for w in W]
tot = {r: np.zeros(2, int) for r in rows}


def count(terms, action, ranking, before, truth):
    after = placed(action, terms, ranking, before) > 0.5
    moved = after != (before > 0.5)
    return np.array([moved.sum(), (moved & (after == truth)).sum()])


t0 = time.time()
for case in cases:
    spacing, image = case.axial_spacing_mm(), case.axial_image()
    reference = class_masks(case, segmenter.classes)
    decoded = decode_volume(segmenter, embed_case(embedder, case))
    organs = list(range(4))
    probabilities = organ_probabilities(segmenter, decoded, organs)
    keep_for_corrections(segmenter.backbone, decoded, _masks(probabilities, case, segmenter), organs, spacing)
    evidence = Evidence(segmenter, generator, case.label_set)
    previous, placed_n = None, 0
    for r in range(12):
        if placed_n == 3:
            break
        masks = _masks(probabilities, case, segmenter)
        command = choose_intervention(masks, reference, segmenter.classes, spacing, previous, True)
        if command is None:
            break
        previous, organ = command, segmenter.classes.index(command.organ)
        if pieces_to_delete(command, probabilities, organ, case.label_set, segmenter.classes, spacing) is None:
            study = StudyOnGrid(decoded, probabilities, image, spacing)
            window, terms = placement_evidence(evidence, study, command, organ)
            if terms is not None and terms.amount is not None and terms.intensity is not None:
                before = window.of_channels(probabilities)[:, organ]
                truth = window.of_stack(reference[:, organ])
                corr = PlacedCorrection(command, terms, before, truth, spacing, r)
                prior = np.clip(window.of_stack(prior_logits(net, masks)[:, organ])[terms.slices], -8, 8)
                summed = terms.combined(INTENSITY_WEIGHT, BOX_WEIGHT).astype(np.float64)
                ex = example_of(case.case_id, corr)
                learned = ranked_in_gate(
                    generator.ranker, ex.features.numpy(), summed, terms.weight > OPEN, ex.span, BLOCK
                )
                a = command.action
                tot["fixed"] += count(terms, a, summed, before, truth)
                tot["learned"] += count(terms, a, learned, before, truth)
                tot["prior+0.01sum"] += count(terms, a, prior + 0.01 * summed, before, truth)
                for w in W:
                    tot[f"fixed+{w}p"] += count(terms, a, summed + w * prior, before, truth)
                    tot[f"learned+{w}p"] += count(terms, a, learned + w * prior, before, truth)
                placed_n += 1
        probabilities = correct(evidence, decoded, probabilities, command, spacing, image).probabilities
    print(case.case_id, f"{time.time() - t0:.0f}s", flush=True)
for r, (m, k) in tot.items():
    print(f"{r:20s} moved {m:7d} right {100 * k / max(m, 1):5.1f}% net {2 * k - m:7d}")
