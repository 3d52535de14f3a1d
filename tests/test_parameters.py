"""Parameter accounting counts frozen and trainable parameters, shared ones once."""

from torch import nn

from causal_sam_llm.segmentation.parameters import count_parameters


def test_counts_frozen_and_trainable_and_fraction():
    frozen = nn.Linear(10, 10)  # 110
    frozen.requires_grad_(False)
    head = nn.Linear(10, 1)  # 11
    counts = count_parameters(nn.Sequential(frozen, head))
    assert (counts.frozen, counts.trainable, counts.total) == (110, 11, 121)
    assert abs(counts.trainable_fraction - 11 / 121) < 1e-12


def test_shared_parameters_are_counted_once():
    layer = nn.Linear(4, 4)
    assert count_parameters(nn.Sequential(layer, layer)).total == 20
