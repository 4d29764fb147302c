"""The flex format hands the split to the knowledge-graph app's FLEX layout exporter."""
import json

import pytest
import scipy.io

from datasets.exports.service import export_formats, split_export
from datasets.services.splits import split_make


@pytest.mark.django_db
def test_flex_export_writes_the_kg_layout_with_our_split_card_and_manifest(settings, tmp_path):
    # given: a scored synthetic FLEX dataset and a participant-disjoint split of it
    from kg.services.graph import graph_load
    from kg.services.label_sets import flex_label_set_compute
    from kg.services.synthetic import flex_demo_create

    settings.MEDIA_ROOT = tmp_path / "media"
    graph_load()
    dataset = flex_demo_create(name="flexsplit", n_clips=24, seed=3, with_pose=True)
    flex_label_set_compute(dataset=dataset)
    version = split_make(dataset=dataset, seed=0, ratios="0.5,0.25,0.25")
    # when
    manifest = split_export(split_version=version, fmt="flex", out=tmp_path / "flex")
    # then
    root = tmp_path / "flex"
    assert "flex" in export_formats()
    train = scipy.io.loadmat(root / "Split_4" / "split_4_train_list.mat")["consolidated_train_list"]
    assert train.shape[1] == 3 and len(train) == version.counts["clips"]["train"]
    listed = {f["path"] for f in manifest["files"]}
    assert {"README.md", "flex_manifest.json"} <= listed and any(p.startswith("Skeleton/") for p in listed)
    assert json.loads((root / "manifest.json").read_text())["split_version"]["manifest_hash"] == version.manifest_hash
