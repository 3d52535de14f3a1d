"""describe_style: a real CT and a real MR slice get profiles that differ in the expected fields."""

import numpy as np

from causal_sam_llm.datasets.dicom_study import load_dicom_case
from causal_sam_llm.datasets.sample_images import sample_path
from causal_sam_llm.segmentation.style_augment import apply_restyle, random_restyle
from causal_sam_llm.segmentation.style_profile import describe_style, measure_style


def test_real_ct_and_mr_profiles_differ_where_they_should():
    ct = describe_style(load_dicom_case([sample_path("abdomen_ct")]))
    mr = describe_style(load_dicom_case([sample_path("abdomen_mr")]))
    assert (ct.modality, ct.unit, ct.field_strength_t) == ("CT", "HU", None)
    assert (mr.modality, mr.unit, mr.manufacturer) == ("MR", "a.u.", "SIEMENS")
    assert abs(mr.field_strength_t - 1.5) < 0.01
    assert ct.intensity_p1 < -50 < 100 < ct.intensity_p99  # fat below 0 HU, enhanced organs and bone above
    assert mr.intensity_p1 >= 0
    assert ct.bias_field_strength == 0.0 < mr.bias_field_strength
    assert ct.sentence.startswith("CT image") and mr.sentence.startswith("MR image")
    assert "SIEMENS, 1.5 T" in mr.sentence


def test_noise_and_bias_measurements_respond_to_what_they_measure():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 64)[:, None, None]
    clean = np.full((64, 64, 4), 500.0, np.float32)
    noisy = clean + rng.normal(0, 40, clean.shape).astype(np.float32)
    biased = clean * (1 + 0.6 * x).astype(np.float32)
    profiles = [measure_style(img, "MR", (1.0, 1.0, 3.0), "T2") for img in (clean, noisy, biased)]
    assert profiles[1].noise_sigma > 10 * max(profiles[0].noise_sigma, 1.0)
    assert profiles[2].bias_field_strength > 0.4 > profiles[0].bias_field_strength


def test_restyled_view_keeps_anatomy_and_says_so():
    unit = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (3, 32, 1))
    restyle = random_restyle(np.random.default_rng(3))
    styled = apply_restyle(unit, restyle)
    assert styled.shape == unit.shape and styled.min() >= 0 and styled.max() <= 1
    assert not np.allclose(styled, unit)
    assert "intensities" in restyle.describe()


def test_a_restyled_ct_view_is_measured_in_its_own_unit_range():
    """Restyled views are 0..1: the body is what stands out of the background (not everything above −500 HU), and
    the sentence keeps decimals instead of 'sigma 0, intensities 0 to 1'."""
    rng = np.random.default_rng(0)
    image = np.zeros((64, 64, 4), np.float32)
    image[16:48, 16:48] = 0.6 + rng.normal(0, 0.03, (32, 32, 4)).astype(np.float32)
    profile = measure_style(image, "CT", (1.0, 1.0, 3.0), "CT", augmentation="gamma 0.8")
    assert profile.unit == "a.u." and 0.5 < profile.intensity_p1 < profile.intensity_p99 < 0.7  # the body only
    assert "sigma 0.0" in profile.sentence and "intensities 0.5" in profile.sentence


def test_vision_language_describer_names_missing_weights_and_renders_the_slice_it_would_show(tmp_path):
    """The VLM backend's weights cannot be had offline; what runs here: its input image and its errors."""
    import io

    import pytest
    from PIL import Image

    from causal_sam_llm.errors import CheckpointError
    from causal_sam_llm.segmentation.trainer import TrainConfig
    from causal_sam_llm.segmentation.vlm_describer import VisionLanguageStyleDescriber, middle_slice_png

    model = tmp_path / "vlm.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(CheckpointError, match=r"mmproj .*not found: .*proj\.gguf"):
        VisionLanguageStyleDescriber(model, tmp_path / "proj.gguf")
    with pytest.raises(CheckpointError, match="both --vlm-model and --vlm-mmproj"):
        TrainConfig("ct_to_mr", "lad", vlm_model=str(model)).describer()
    assert TrainConfig("ct_to_mr", "lad").describer() is None
    case = load_dicom_case([sample_path("abdomen_mr")])
    image = Image.open(io.BytesIO(middle_slice_png(case)))
    assert image.mode == "L" and image.size == case.axial_image().shape[:0:-1]
    assert np.asarray(image).std() > 10  # a windowed image, not a blank
