"""Bad input is refused with a clear code (file, line, field) and nothing is written."""
import io
import json
import pickle
import tarfile
import zipfile

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation.models import ErrorSegment
from datasets.importers.writer import dataset_import
from datasets.models import Clip, Dataset, ImportRecord, SplitVersion
from tests.datasets.factories import media_root  # noqa: F401  (fixture)

HEADER = ",Unnamed: 0,type,name,count,L1,L2,L3,L4"

pytestmark = pytest.mark.usefixtures("media_root")


def _repcount(tmp_path, *rows, header=HEADER, name="new_train.csv"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _nothing_written():
    return (Dataset.objects.count(), Clip.objects.count(), SplitVersion.objects.count(), ImportRecord.objects.count())


@pytest.mark.django_db
@pytest.mark.parametrize("rows,header,code", [
    (["0,0,squat,a.mp4,2,0,10,10,20"], ",Unnamed: 0,type,video,count,L1,L2,L3,L4", "wrong_columns"),
    (["0,0,squat,a.mp4,2,0,10,10,20"], ",Unnamed: 0,type,name,count,L1,L3", "wrong_columns"),
    (["0,0,squat,a.mp4,1,0,-10,,"], HEADER, "negative_segment"),
    (["0,0,squat,a.mp4,1,20,10,,"], HEADER, "reversed_segment"),
    (["0,0,squat,a.mp4,2,0,10,10,"], HEADER, "invalid_cycles"),
    (["0,0,squat,a.mp4,2,0,10,,20"], HEADER, "invalid_cycles"),
    (["0,0,squat,a.mp4,2,0,1x,10,20"], HEADER, "invalid_number"),
    (["0,0,squat,../../etc/passwd,1,0,10,,"], HEADER, "unsafe_path"),
    (["0,0,squat,a.mp4,1,0,10,,", "1,1,squat,a.mp4,1,0,10,,"], HEADER, "duplicate_clip"),
])
def test_malformed_repcount_rows_are_refused(tmp_path, rows, header, code):
    # given
    path = _repcount(tmp_path, *rows, header=header)
    # when / then
    with pytest.raises(CommandError, match=code):
        call_command("import_dataset", "--format", "repcount_a", "--dataset", "rc", str(path))
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_refusal_names_file_line_and_field(tmp_path):
    # given
    path = _repcount(tmp_path, "0,0,squat,a.mp4,1,0,10,,", "1,1,squat,b.mp4,1,30,20,,")
    # when / then
    with pytest.raises(Exception) as caught:
        dataset_import(fmt="repcount_a", dataset_name="rc", paths=[path])
    assert caught.value.code == "reversed_segment"
    assert caught.value.fields == {"file": "new_train.csv", "line": 3, "field": "L2"}


@pytest.mark.django_db
def test_non_utf8_file_is_refused_with_its_line(tmp_path):
    # given
    path = tmp_path / "new_train.csv"
    path.write_bytes((HEADER + "\n0,0,squat,a.mp4,1,0,10,,\n1,1,sq\xe9at,b.mp4,1,0,10,,\n").encode("latin-1"))
    # when / then
    with pytest.raises(Exception) as caught:
        dataset_import(fmt="repcount_a", dataset_name="rc", paths=[path])
    assert caught.value.code == "not_utf8" and caught.value.fields["line"] == 3
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_zip_member_escaping_the_target_is_refused(tmp_path):
    # given
    archive = tmp_path / "labels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../evil.csv", HEADER + "\n")
    # when / then
    with pytest.raises(CommandError, match="unsafe_path"):
        call_command("import_dataset", "--format", "repcount_a", "--dataset", "rc", str(archive))
    assert not (tmp_path.parent / "evil.csv").exists()
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("member", ["../escape.csv", "/abs/escape.csv", "link.csv"])
def test_tar_member_escaping_or_linking_is_refused(tmp_path, member):
    # given
    archive = tmp_path / "labels.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo(member)
        if member == "link.csv":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            t.addfile(info)
        else:
            data = (HEADER + "\n").encode()
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    # when / then
    with pytest.raises(Exception) as caught:
        dataset_import(fmt="repcount_a", dataset_name="rc", paths=[archive])
    assert caught.value.code in ("unsafe_path", "unsafe_archive_member")
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_files_inside_a_safe_zip_are_imported(tmp_path):
    # given
    archive = tmp_path / "labels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("open_set/new_test.csv", HEADER + "\n0,0,situp,test1.mp4,2,0,10,10,20\n")
    # when
    dataset_import(fmt="repcount_a", dataset_name="rc", paths=[archive])
    # then
    assert Clip.objects.get().external_id == "test1"
    assert SplitVersion.objects.get().counts["clips"]["test"] == 1


@pytest.mark.django_db
def test_pickle_files_are_never_loaded(tmp_path):
    # given
    pkl = tmp_path / "labels.pkl"
    pkl.write_bytes(pickle.dumps({"x": 1}))
    # when / then
    with pytest.raises(CommandError, match="pickle_refused"):
        call_command("import_dataset", "--format", "jsonl", "--dataset", "j", str(pkl))
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_pickled_npy_is_refused(tmp_path):
    # given: a jsonl export whose pose file is an object (pickle) array
    (tmp_path / "x" / "pose").mkdir(parents=True)
    np.save(tmp_path / "x" / "pose" / "c1.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    record = {"clip_id": "c1", "split": "train", "exercise": "squat", "fps": 30.0, "frame_count": 10,
              "repetitions": [], "pose": "pose/c1.npy"}
    (tmp_path / "x" / "train.jsonl").write_text(json.dumps(record) + "\n")
    # when / then
    with pytest.raises(CommandError, match="pickle_refused"):
        call_command("import_dataset", "--format", "jsonl", "--dataset", "j", str(tmp_path / "x"))
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("segments,code", [
    ({"64000_1": [[3.0, 1.0]]}, "reversed_segment"),
    ({"64000_1": [[-1.0, 1.0]]}, "negative_segment"),
    ({"64000_1": [[1.0]]}, "wrong_structure"),
    ({"../x": [[1.0, 2.0]]}, "unsafe_path"),
])
def test_bad_fitness_aqa_segments_are_refused(tmp_path, segments, code):
    # given
    labels = tmp_path / "Squat" / "Labels"
    labels.mkdir(parents=True)
    (labels / "error_knees_forward.json").write_text(json.dumps(segments))
    # when / then
    with pytest.raises(CommandError, match=code):
        call_command("import_dataset", "--format", "fitness_aqa", "--dataset", "f", str(tmp_path / "Squat"))
    assert _nothing_written() == (0, 0, 0, 0) and ErrorSegment.objects.count() == 0


@pytest.mark.django_db
def test_jsonl_segment_past_the_clip_is_refused(tmp_path):
    # given
    record = {"clip_id": "c1", "split": "train", "exercise": "squat", "fps": 30.0, "frame_count": 10,
              "repetitions": [], "segments": [{"error_type": "knees", "start_frame": 2, "end_frame": 40}]}
    (tmp_path / "train.jsonl").write_text(json.dumps(record) + "\n")
    # when / then
    with pytest.raises(CommandError, match="end_past_clip"):
        call_command("import_dataset", "--format", "jsonl", "--dataset", "j", str(tmp_path / "train.jsonl"))
    assert _nothing_written() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_import_into_existing_dataset_refuses_clips_it_already_has(tmp_path):
    # given
    path = _repcount(tmp_path, "0,0,squat,a.mp4,1,0,10,,")
    dataset_import(fmt="repcount_a", dataset_name="rc", paths=[path])
    # when / then
    with pytest.raises(Exception, match="clip_exists"):
        dataset_import(fmt="repcount_a", dataset_name="rc", paths=[path])
    assert Clip.objects.count() == 1 and ImportRecord.objects.count() == 1
