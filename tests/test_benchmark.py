"""The built-in benchmark: deterministic for a seed, one anatomy in many measurably different styles, labels
identical across styles, readable by the standard loaders, and usable by every shipped protocol."""

import dataclasses
import re
import shutil

import numpy as np
import pytest
from layouts import write_btcv

from causal_sam_llm.cli import main
from causal_sam_llm.datasets.benchmark.make import BenchmarkSpec, make_benchmark
from causal_sam_llm.datasets.btcv import load_btcv
from causal_sam_llm.datasets.protocol import load_protocol, protocol_names
from causal_sam_llm.datasets.registry import open_dataset
from causal_sam_llm.datasets.study import open_study
from causal_sam_llm.errors import DataLayoutError

# A coarse grid over the same field of view keeps the tests fast.
TINY = BenchmarkSpec(
    cases=4,
    variant_cases=3,
    brain_cases=3,
    seed=7,
    abdomen_shape=(64, 64, 12),
    abdomen_spacing_mm=(5.5, 5.5, 20.0),
    brain_shape=(40, 48, 16),
    brain_spacing_mm=(4.3, 4.2, 8.7),
)
STYLES = ("ct_a", "ct_b", "ct_lowdose", "mr_t1", "mr_t2")


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    make_benchmark(out, TINY, progress=False)
    return out


def _case(benchmark, style, number=1, variants=False):
    folder = benchmark / "abdomen" / (f"{style}_variants" if variants else style)
    return load_btcv(folder)[number - 1]


def test_layout_follows_btcv_and_brats(benchmark):
    assert (benchmark / "abdomen" / "ct_a" / "Training" / "img" / "img0004.nii.gz").is_file()
    assert (benchmark / "abdomen" / "mr_t2" / "Training" / "label" / "label0001.nii.gz").is_file()
    assert (benchmark / "brain" / "BraTS2021_00003" / "BraTS2021_00003_flair.nii.gz").is_file()
    assert sorted(p.name for p in (benchmark / "abdomen").iterdir()) == sorted(
        [*STYLES, "ct_a_variants", "mr_t2_variants"]
    )


def test_same_seed_same_benchmark_other_seed_other_anatomy(benchmark, tmp_path):
    again = tmp_path / "again"
    make_benchmark(again, TINY, progress=False)
    first, second = _case(benchmark, "mr_t1", 2), _case(again, "mr_t1", 2)
    np.testing.assert_array_equal(first.image, second.image)
    np.testing.assert_array_equal(first.labels, second.labels)
    other = tmp_path / "other"
    make_benchmark(
        other, BenchmarkSpec(**{**TINY.__dict__, "seed": 8, "variant_cases": 0, "brain_cases": 0}), progress=False
    )
    assert not np.array_equal(_case(other, "ct_a", 2).labels, first.labels)


def test_labels_are_identical_across_styles_and_every_organ_is_present(benchmark):
    reference = _case(benchmark, "ct_a", 3).labels
    assert set(np.unique(reference)) == {0, 1, 2, 3, 4}
    for style in STYLES[1:]:
        np.testing.assert_array_equal(_case(benchmark, style, 3).labels, reference)


def test_each_style_differs_measurably_in_intensity_statistics(benchmark):
    stats = {}
    for style in STYLES:
        case = _case(benchmark, style, 1)
        liver, spleen = case.image[case.labels == 1], case.image[case.labels == 2]
        stats[style] = (liver.mean(), spleen.mean() - liver.mean(), liver.std())
    ct_a, ct_b, low = stats["ct_a"], stats["ct_b"], stats["ct_lowdose"]
    assert abs(ct_a[0] - ct_b[0]) > 10  # portal venous vs late arterial liver enhancement (HU)
    assert low[2] > 2 * ct_a[2]  # low dose: much noisier liver
    assert stats["mr_t1"][1] < 0 < stats["mr_t2"][1]  # spleen darker than liver on T1, brighter on T2
    for style in STYLES:
        assert _case(benchmark, style, 1).modality == ("CT" if style.startswith("ct") else "MR")


def test_variants_change_the_anatomy(benchmark):
    displaced, enlarged = _case(benchmark, "ct_a", 1, True), _case(benchmark, "ct_a", 2, True)
    assert displaced.metadata["anatomy"] == "variants"
    standard_liver_ml = np.mean([(_case(benchmark, "ct_a", n).labels == 1).sum() for n in (1, 2, 3, 4)])
    assert (enlarged.labels == 2).sum() > 0 and (enlarged.labels == 1).sum() > 1.1 * standard_liver_ml
    lesioned = _case(benchmark, "ct_a", 3, True)
    assert lesioned.image[lesioned.labels == 1].min() < 80  # hypodense lesions inside the liver label


def test_brain_phantom_reads_as_brats_with_nested_regions(benchmark):
    cases = open_dataset(benchmark / "brain", sequence="flair")
    assert len(cases) == 3
    labels = cases[0].labels
    regions = cases[0].label_set
    whole, core, enhancing = (regions.mask(labels, n) for n in ("whole_tumour", "tumour_core", "enhancing_tumour"))
    assert whole.sum() > core.sum() > enhancing.sum() > 0
    assert set(np.unique(cases[0].original_labels)) == {0, 1, 2, 4}


@pytest.mark.parametrize("name", ["ct_to_mr", "cross_scanner", "cross_anatomy", "brats_cross_sequence"])
def test_every_shipped_protocol_resolves_and_never_tests_on_training_anatomy(benchmark, name):
    protocol = load_protocol(name)
    overrides = {"benchmark": str(benchmark)}
    train, test = protocol.case_list("train", overrides), protocol.case_list("test", overrides)
    assert train and test
    by_domain = protocol.cases("test", overrides).values()
    assert [c.case_id for c in test] == [c.case_id for cases in by_domain for c in cases]  # domain after domain
    assert not {c.anatomy_key for c in train} & {c.anatomy_key for c in test}
    assert all(c.label_set_name == protocol.label_set for c in train + test)


def test_one_image_source_named_for_several_domains_is_used_once(benchmark):
    """The README's real-data recipe points ct_to_mr's three CT training domains at one BTCV folder."""
    ct_a = str(benchmark / "abdomen" / "ct_a")
    overrides = {"benchmark": str(benchmark), "ct_root": ct_a, "ct_b_root": ct_a, "ct_lowdose_root": ct_a}
    train = load_protocol("ct_to_mr").cases("train", overrides)
    assert list(train) == ["CT"]
    paths = [str(c.source_path) for c in train["CT"]]
    assert len(paths) == len(set(paths)) > 0


def test_a_set_name_the_protocol_does_not_have_is_refused_with_the_names_it_has(benchmark, capsys):
    """A typo such as `mr_rot` would otherwise be ignored and the run would read the benchmark's phantoms."""
    expected = (
        r"ct_to_mr has no variable mr_rot; --set may name: benchmark, ct_root, ct_b_root, ct_lowdose_root, mr_root"
    )
    with pytest.raises(DataLayoutError, match=expected):
        load_protocol("ct_to_mr").case_list("test", {"benchmark": str(benchmark), "mr_rot": str(benchmark)})
    command = ["eval-tci", "--protocol", "ct_to_mr", "--checkpoint", "trained/ct_to_mr/lad.pt", "--json"]
    assert main([*command, str(benchmark / "x.json"), "--set", f"mr_rot={benchmark}"]) == 2
    captured = capsys.readouterr()
    assert "no variable mr_rot" in captured.err and "built-in benchmark" not in captured.out


def test_a_run_given_some_real_folders_is_told_which_domains_still_read_the_benchmark(benchmark, tmp_path, capsys):
    """README's recipe names all five of ct_to_mr's folders; naming two would mix the benchmark's phantoms into the
    other three domains without a word."""
    from causal_sam_llm.commands.common import note_domains_left_on_benchmark

    protocol = load_protocol("ct_to_mr")
    real_ct = tmp_path / "BTCV"
    shutil.copytree(benchmark / "abdomen" / "ct_a", real_ct)
    some = {"benchmark": str(benchmark), "ct_root": str(real_ct), "mr_root": str(tmp_path)}
    left = [("CT-B", "ct_b_root"), ("CT-low-dose", "ct_lowdose_root")]
    assert protocol.left_on_benchmark(("train", "val"), some) == left
    assert protocol.left_on_benchmark(("test",), some) == [("MR-T1-InPhase", "mr_t1_root")]
    note_domains_left_on_benchmark(protocol, ("train", "val"), some)
    note = " ".join(capsys.readouterr().out.split())
    assert "the built-in benchmark still supplies CT-B (--set ct_b_root=PATH), CT-low-dose (--set" in note
    every = {**some, "ct_b_root": str(real_ct), "ct_lowdose_root": str(real_ct), "mr_t1_root": str(tmp_path)}
    assert protocol.left_on_benchmark(("train", "val", "test"), every) == []
    # the benchmark alone, or moved elsewhere as a whole, is no mix
    assert protocol.left_on_benchmark(("train", "val", "test"), {"benchmark": str(benchmark)}) == []


def test_protocol_names_and_a_missing_domain(tmp_path):
    assert protocol_names() == ["brats_cross_sequence", "cross_anatomy", "cross_scanner", "ct_to_mr"]
    with pytest.raises(DataLayoutError, match=r"domain 'CT' \(train\) points to .*does not exist"):
        load_protocol("ct_to_mr").cases("train", {"benchmark": str(tmp_path / "none")})


def test_a_training_domain_its_share_leaves_no_case_is_refused_by_name(tmp_path):
    """One BTCV case, of which the protocol trains on the first half: none, said before any training starts (it had
    ended in numpy's "need at least one array to concatenate")."""
    write_btcv(tmp_path / "btcv", numbers=(1,))
    with pytest.raises(
        DataLayoutError, match=r"domain 'CT-scanner-A' \(train\) takes the cases from 0 to 0.5 of the 1"
    ):
        load_protocol("cross_scanner").cases("train", {"source_root": str(tmp_path / "btcv")})


def test_invalid_protocol_file_is_explained(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndescription: y\nlabel_set: abdomen\nclasses: [heart]\ntrain: []\ntest: []\n")
    with pytest.raises(DataLayoutError, match=r"(?s)bad\.yaml is not a valid protocol.*heart"):
        load_protocol(str(bad))


def test_make_benchmark_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "my_scan.nii.gz").write_text("precious")
    with pytest.raises(DataLayoutError, match="not empty"):
        make_benchmark(tmp_path, TINY, progress=False)
    assert (tmp_path / "my_scan.nii.gz").read_text() == "precious"


def test_make_benchmark_refuses_a_benchmark_of_other_settings_and_rewrites_its_own(tmp_path):
    """A smaller benchmark written over a larger one would have left the larger one's extra cases listed by every
    reader, under a manifest that does not count them."""
    two = dataclasses.replace(TINY, cases=2, variant_cases=0, brain_cases=0)
    make_benchmark(tmp_path, two, progress=False)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.nii.gz"))
    with pytest.raises(DataLayoutError, match=r"other settings \(cases 2 → 1\)"):
        make_benchmark(tmp_path, dataclasses.replace(two, cases=1), progress=False)
    make_benchmark(tmp_path, two, progress=False)  # the same settings: rewritten, nothing left over
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.nii.gz")) == before


def test_data_show_and_list_commands(benchmark, tmp_path, capsys, monkeypatch):
    out = tmp_path / "montage.png"
    assert main(["data", "show", "2", "--benchmark", str(benchmark), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["data", "list", str(benchmark / "abdomen" / "mr_t2")]) == 0
    listing = capsys.readouterr().out
    assert "mr_t2-0004" in listing and "T2SPIR" in listing
    assert main(["data", "list", str(benchmark / "abdomen" / "mr_t2"), "--body-width"]) == 0
    widths = [int(width) for width in re.findall(r"│ (\d+) mm", capsys.readouterr().out)]
    assert len(widths) == 4 and all(200 <= width <= 700 for width in widths), widths  # an abdomen's (label_sets.yaml)
    # the benchmark's own folder (or its abdomen folder) lists every data set in it, under the ids `load` takes
    for folder in (benchmark, benchmark / "abdomen"):
        assert main(["data", "list", str(folder)]) == 0
        listing = capsys.readouterr().out
        assert "ct_a-0001" in listing and "mr_t2-0004" in listing and "load a case as benchmark:<case>" in listing
        assert ("BraTS2021_00001-flair" in listing) == (folder == benchmark)
        assert "CAUSAL_SAM_LLM_BENCHMARK" in listing  # a benchmark made elsewhere than the one benchmark: reads
    assert open_study("benchmark:mr_t2-0004", benchmark=benchmark).case_id == "mr_t2-0004"
    monkeypatch.setenv("CAUSAL_SAM_LLM_BENCHMARK", str(benchmark))
    assert open_study("benchmark:mr_t2-0004").source_path.is_relative_to(benchmark)
    # the test split of a data set, which has no labels (BTCV's Testing/img)
    btcv = tmp_path / "RawData"
    (btcv / "Testing" / "img").mkdir(parents=True)
    for case in open_dataset(benchmark / "abdomen" / "mr_t2")[:1]:
        (btcv / "Training").mkdir()
        (btcv / "Training" / "img").symlink_to(case.source_path.parent)
        (btcv / "Training" / "label").symlink_to(case.source_path.parent.parent / "label")
        (btcv / "Testing" / "img" / "img0061.nii.gz").write_bytes(case.source_path.read_bytes())
    assert main(["data", "list", str(btcv), "--split", "test"]) == 0
    listing = capsys.readouterr().out
    assert "0061" in listing and "│ no " in listing and "mr_t2-0004" not in listing
    # a slice outside the volume is one line naming the range (it had been a traceback; -3 had wrapped around)
    assert main(["data", "show", "2", "--benchmark", str(benchmark), "--slice", "500", "--out", str(out)]) == 2
    assert "--slice 500 is outside case 0002's volume: slices 0.." in capsys.readouterr().err
    for bad in (["abc"], ["2", "--slice", "-3"]):
        with pytest.raises(SystemExit) as usage:
            main(["data", "show", *bad, "--out", str(out)])
        assert usage.value.code == 2


def test_a_brain_case_opens_for_the_agent_by_its_brats_id(benchmark):
    from causal_sam_llm.datasets.study import open_study

    case = open_study("benchmark:BraTS2021_00001-flair", benchmark=benchmark)
    assert (case.sequence, case.label_set_name, case.has_labels) == ("flair", "brain_tumour", True)
    with pytest.raises(DataLayoutError, match="t1, t1ce, t2, flair"):
        open_study("benchmark:BraTS2021_00001-dwi", benchmark=benchmark)
