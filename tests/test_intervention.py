"""Intervention validation: anything outside what the model and volume allow is rejected with the allowed values."""

import pytest

from causal_sam_llm.segmentation.intervention import Intervention, InterventionError, parse_intervention

ORGANS = ["liver", "spleen", "right_kidney", "left_kidney"]


def test_fields_are_exactly_the_published_ones():
    assert list(Intervention.model_fields) == ["organ", "action", "region", "strength", "slices"]


def test_a_valid_command_round_trips():
    command = parse_intervention(
        {"organ": "liver", "action": "expand", "region": "superior", "strength": 0.5, "slices": [3, 9]},
        ORGANS,
        depth=20,
    )
    assert command.slices == (3, 9)
    assert command.model_dump() == {
        "organ": "liver",
        "action": "expand",
        "region": "superior",
        "strength": 0.5,
        "slices": (3, 9),
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"organ": "heart", "action": "expand"}, "organ 'heart' is not segmented by this model; allowed: liver"),
        ({"organ": "pancreas", "action": "shrink"}, "allowed: liver, spleen, right_kidney, left_kidney"),
        ({"organ": "liver", "action": "expand", "strength": 1.5}, "strength: Input should be less than or equal to 1"),
        ({"organ": "liver", "action": "expand", "strength": -0.1}, "greater than or equal to 0"),
        ({"organ": "liver", "action": "expand", "slices": [8, 2]}, r"slices \[8, 2\] are reversed"),
        ({"organ": "liver", "action": "expand", "slices": [5, 20]}, r"outside the volume; allowed indices: 0\.\.19"),
        ({"organ": "liver", "action": "grow"}, "Allowed actions: expand, shrink, remove_region, add_region, smooth"),
        ({"organ": "liver", "action": "expand", "region": "upward"}, "regions: whole, superior, inferior"),
        ({"organ": "liver", "action": "expand", "colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_commands_say_what_is_allowed(fields, message):
    with pytest.raises(InterventionError, match=message) as error:
        parse_intervention(fields, ORGANS, depth=20)
    assert "Value error" not in str(error.value)  # pydantic's wording for our own checks is not for a clinician


def test_toward_the_head_or_feet_is_refused_on_a_single_slice_study():
    """One slice has no head or feet side to move to (a grow there had silently grown in-plane)."""
    for region in ("superior", "inferior"):
        with pytest.raises(InterventionError, match=f"region '{region}' .* needs more than the one slice"):
            parse_intervention({"organ": "liver", "action": "expand", "region": region}, ORGANS, depth=1)
    assert parse_intervention({"organ": "liver", "action": "expand", "region": "left"}, ORGANS, depth=1)
    assert parse_intervention({"organ": "liver", "action": "expand", "region": "superior"}, ORGANS, depth=2)
