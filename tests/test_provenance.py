"""Every export says where its masks came from (`<export>.json`, tools/provenance.py): the software, checkpoint,
study, mask version and the steps that made it, and which organs a clinician corrected — in a DICOM-SEG also as each
segment's algorithm type."""

import hashlib
import json
import stat
import warnings
from pathlib import Path

import pydicom

from causal_sam_llm.tools.mask_history import MaskVersion
from causal_sam_llm.tools.registry import run_tool
from causal_sam_llm.tools.workbench import Workbench

CASE = "benchmark:mr_t2-0001"


def _export(bench: Workbench, format: str = "nifti") -> tuple[Path, dict]:
    result = run_tool(bench, "export", {"format": format})
    record = Path(result.data["provenance"])
    assert record.parent == Path(result.data["path"]).parent and record.name in result.message
    return Path(result.data["path"]), json.loads(record.read_text())


def test_an_export_names_its_steps_and_the_organs_a_clinician_corrected(home_benchmark, tmp_path):
    bench = Workbench.create(tmp_path / "session")
    run_tool(bench, "load_study", {"study": CASE})
    run_tool(bench, "segment", {"organ": "all"})
    grow = {"organ": "liver", "action": "expand", "region": "superior", "strength": 0.5, "slices": [2, 9]}
    run_tool(bench, "intervene_decoder", grow)
    run_tool(bench, "intervene_decoder", {"organ": "spleen", "action": "shrink", "strength": 0.5})
    run_tool(bench, "undo", {})  # the spleen's shrink is not in the exported masks
    path, record = _export(bench)
    assert record["export"] == path.name and path.name.startswith("mr_t2-0001-v1-")
    assert record["mask_version"] == 1
    assert [step["did"] for step in record["steps"]] == [
        f"segment all slices 0-{bench.depth - 1}",
        "expand liver superior 15 mm slices 2-9",
    ]
    assert record["corrected_by_clinician"] == ["liver"]
    # readable by whoever may read the mask beside it (written atomically from a 0600 temporary file)
    mode = stat.S_IMODE(path.stat().st_mode)
    for written in (path.with_name(path.name.removesuffix(".nii.gz") + ".json"), tmp_path / "session" / "study.json"):
        assert stat.S_IMODE(written.stat().st_mode) == mode, written
    assert record["automatic"] == ["spleen", "right_kidney", "left_kidney"]
    assert record["label_values"] == {"liver": 6, "spleen": 1, "right_kidney": 2, "left_kidney": 3}  # BTCV's
    assert record["checkpoint"]["sha256"] == hashlib.sha256(bench.checkpoint.read_bytes()).hexdigest()
    case = bench.require_case()
    source = {"case_id": "mr_t2-0001", "source": str(case.source_path), "format": case.source}
    assert record["study"] == {**source, "sha256": hashlib.sha256(case.source_path.read_bytes()).hexdigest()}
    run_tool(bench, "segment", {"organ": "liver"})  # segmented afresh on every slice: automatic again
    assert _export(bench)[1]["corrected_by_clinician"] == []
    run_tool(bench, "undo", {})
    run_tool(bench, "segment", {"organ": "liver", "slices": [0, 3]})  # only some slices: still corrected elsewhere
    assert _export(bench)[1]["corrected_by_clinician"] == ["liver"]


def test_a_dicom_seg_marks_the_corrected_organs_semiautomatic(tmp_path):
    bench = Workbench.create(tmp_path / "dicom")
    run_tool(bench, "load_study", {"study": "sample:abdomen_ct"})
    run_tool(bench, "segment", {"organ": "all"})
    run_tool(bench, "intervene_decoder", {"organ": "liver", "action": "expand", "strength": 0.5})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path, record = _export(bench, "dicom_seg")
    assert not [w for w in caught if "person name" in str(w.message)]  # the source's name, copied as it is
    seg = pydicom.dcmread(path)
    types = {s.SegmentLabel: s.SegmentAlgorithmType for s in seg.SegmentSequence}
    assert types == {"liver": "SEMIAUTOMATIC", "spleen": "AUTOMATIC", "right_kidney": "AUTOMATIC",
                     "left_kidney": "AUTOMATIC"}  # fmt: skip
    assert seg.SeriesDescription == "Causal-SAM-LLM masks v1"
    assert seg.ContentDescription == "corrected by a clinician: liver"
    assert record["corrected_by_clinician"] == ["liver"] and "label_values" not in record


def test_a_session_saved_before_provenance_still_opens():
    saved = {"number": 0, "note": "segment all slices 0-9", "parent": None, "file": "v0000.npy"}
    version = MaskVersion.from_json(saved)
    assert version.edited == () and version.segmented == ()
    kept = MaskVersion.from_json({**saved, "edited": ["liver"], "segmented": ["liver", "spleen"]})
    assert kept.edited == ("liver",) and kept.segmented == ("liver", "spleen")


def test_a_nested_regions_growth_marks_the_regions_it_grew_and_survives_a_reopen(tmp_path):
    import numpy as np

    from causal_sam_llm.tools.intervene_decoder import edited_organs
    from causal_sam_llm.tools.mask_history import MaskHistory

    before = {"whole_tumour": 10.0, "tumour_core": 4.0, "enhancing_tumour": 1.0}
    after = {"whole_tumour": 10.6, "tumour_core": 4.0, "enhancing_tumour": 1.6}
    assert edited_organs(before, after, "enhancing_tumour") == ["whole_tumour", "enhancing_tumour"]
    assert edited_organs(before, before, "tumour_core") == ["tumour_core"]  # named, even if nothing moved
    history = MaskHistory(tmp_path)
    history.add(np.zeros((2, 3, 4, 4), np.float32), "segment all slices 0-1", segmented=tuple(before))
    version = history.add(
        np.ones((2, 3, 4, 4), np.float32), "expand enhancing_tumour whole 0.5", edited=("enhancing_tumour",)
    )
    history.mark_edited(version.number, ["whole_tumour", "enhancing_tumour"])
    reopened = MaskHistory(tmp_path)
    assert reopened.versions[1].edited == ("whole_tumour", "enhancing_tumour")
    assert reopened.versions[0].segmented == tuple(before) and [v.number for v in reopened.lineage()] == [0, 1]


def test_a_series_folders_hash_changes_with_any_of_its_files(tmp_path):
    """A DICOM series is a folder: its provenance hash covers every file's name and contents."""
    from causal_sam_llm.tools.provenance import source_sha256

    for name in ("1.dcm", "2.dcm"):
        (tmp_path / name).write_bytes(name.encode())
    first = source_sha256(tmp_path)
    (tmp_path / "2.dcm").write_bytes(b"other")
    second = source_sha256(tmp_path)
    (tmp_path / "2.dcm").rename(tmp_path / "3.dcm")
    assert len({first, second, source_sha256(tmp_path)}) == 3
    assert source_sha256(tmp_path / "1.dcm") == hashlib.sha256(b"1.dcm").hexdigest()
