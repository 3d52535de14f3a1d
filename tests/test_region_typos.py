"""Region words typed in a hurry are read as the region ("at the bottm" had been read as no region, and the whole
liver shrunk: a fourth clinician-language trial); words that only look like one are left alone."""

import pytest

from causal_sam_llm.agent.region_typos import with_region_typos_mended
from causal_sam_llm.agent.region_words import regions_mentioned


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("the liver is too big at the bottm", "inferior"),
        ("shrink the spleen at the botom", "inferior"),
        ("grow it at the fornt", "anterior"),
        ("trim the liver at the bakc", "posterior"),
        ("the spleen stops short toward the haed", "superior"),
        ("extend the right kidney superiorr", "superior"),
        ("shrink the liver inferorly", "inferior"),
        ("grow it on the patient's rigth", "right"),
        ("the left kidney is too big posterir", "posterior"),
        ("it is cut short at the tpo", "superior"),
        ("shrnk the lft kidny at the bak 2mm on slices 3 to 5", "posterior"),  # a fifth trial: read as whole
    ],
)
def test_a_misspelt_region_word_is_read_as_the_region(typed, region):
    assert regions_mentioned(typed) == []  # as typed, no region had been read
    assert regions_mentioned(with_region_typos_mended(typed)) == [region]


@pytest.mark.parametrize(
    "text",
    [
        "change the font",
        "the causal model",  # one letter from "caudal", which is therefore mended for swaps only
        "the interior of the liver",  # one letter from "anterior", but a word: the first letter must match
        "a frost-like rim",
        "shrink the spleen",
        "the liver is fine",
        "I like the result",
        "grow the liver at the top",
    ],
)
def test_words_that_only_look_like_a_region_are_left_as_written(text):
    assert with_region_typos_mended(text) == text
