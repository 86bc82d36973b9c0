"""An image or a video offered as landmarks is named as what it is, in one line."""

from __future__ import annotations

import shutil

import pytest

from dfecs_app.errors import InputError
from dfecs_app.io.filekind import binary_kind
from dfecs_app.io.readers import read_landmarks


@pytest.mark.parametrize(("name", "kind"), [("faces/single_face_frame0.png", "a PNG image"),
                                            ("videos/single_face.mp4", "an MP4/MOV video"),
                                            ("pts/takeo.ppm", "a PPM image")])
def test_media_offered_as_tracks_are_named(shared_data, tmp_path, name, kind):
    real = shared_data / name
    for path in (real, shutil.copy(real, tmp_path / "tracks.csv")):
        with pytest.raises(InputError) as err:
            read_landmarks([str(path)])
        text = str(err.value)
        assert text.startswith(f"{path}: this is {kind}, not a landmark file")
        assert "UTF-8" not in text and "\n" not in text


def test_text_is_not_mistaken_for_media():
    assert binary_kind(b"BMW,frame,x_0\n1,2") is None
    assert binary_kind(b"version: 1\nn_points: 68") is None
    assert binary_kind(b"BM\x36\x00\x0c\x00\x00\x00\x00\x00") == "a BMP image"
