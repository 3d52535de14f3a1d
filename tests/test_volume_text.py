"""Volumes in the tools' and the chat's words: small organs keep a decimal, and a change reads as one."""

from causal_sam_llm.tools.volume_text import ml, ml_change


def test_small_volumes_keep_a_decimal_and_large_ones_read_in_whole_ml():
    assert ml(1520.4) == "1520 ml"
    assert ml(9.96) == "10 ml"
    assert ml(7.34) == "7.3 ml"
    assert ml(0.2) == "0.2 ml"  # an organ on one slice: not "0 ml", which reads as absent


def test_a_change_shows_as_many_decimals_as_it_takes_to_be_one():
    assert ml_change(7.3, 12.9) == "7.3 → 12.9 ml"
    assert ml_change(400.2, 512.7) == "400 → 513 ml"
    assert ml_change(300.2, 300.4) == "300.2 → 300.4 ml"
    assert ml_change(1.02, 1.04, least_digits=1) == "1.02 → 1.04 ml"  # was "1.0 → 1.0 ml"
    assert ml_change(10.0, 10.6, least_digits=1) == "10.0 → 10.6 ml"
    assert ml_change(5.0, 5.0) == "5.0 → 5.0 ml"
