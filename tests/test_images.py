"""Image files: read_image / write_image round trips and clear errors naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.errors import InputError
from dfecs_app.io.images import read_image, write_image


def test_png_round_trip_is_pixel_exact(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(31, 47, 3), dtype=np.uint8)
    out = write_image(tmp_path / "sub" / "rgb.png", rgb)
    assert out == tmp_path / "sub" / "rgb.png"
    np.testing.assert_array_equal(read_image(out), rgb)
    # grey and RGBA come back as RGB (grey replicated, alpha dropped)
    grey = rgb[:, :, 0]
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "g.png", grey)),
                                  np.repeat(grey[:, :, None], 3, axis=2))
    rgba = np.concatenate([rgb, np.full((31, 47, 1), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.png", rgba)), rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "g.png", "sub"]  # no temp files


def test_read_image_reads_the_shared_real_face(shared_data):
    image = read_image(shared_data / "faces" / "single_face_frame0.png")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no such image") as err:
        read_image(tmp_path / "none.png")
    assert "none.png" in str(err.value)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="not an image") as err:
        read_image(tmp_path / "bad.png")
    assert "bad.png" in str(err.value)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="not an image"):
        read_image(tmp_path / "empty.png")


def test_write_image_refuses_other_suffixes_and_bad_arrays(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="jpg"):
        write_image(tmp_path / "x.jpg", img)
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "x.png", img.astype(float))
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []
