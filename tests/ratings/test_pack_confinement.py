"""A rating pack comes from another person: every path in its pack.json stays inside it."""

from __future__ import annotations

import json

import pytest

from dfecs_app.errors import InputError
from dfecs_app.io.rating_pack import RatingPack, export_pack
from dfecs_app.io.rating_session import RatingSession


@pytest.fixture
def pack(tmp_path, model, neutral_face):
    _, points = neutral_face
    s = RatingSession.create(tmp_path / "s.json", model, raters=["Ann"], seed=1)
    return export_pack(s, "Ann", tmp_path / "pack", model=model, neutral_points=points)


def _edit(pack, **changes) -> None:
    manifest = pack / "pack.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data.update(changes)
    manifest.write_text(json.dumps(data), encoding="utf-8")


def test_a_ratings_file_outside_the_pack_is_refused_and_not_touched(tmp_path, pack):
    victim = tmp_path / "outside" / "victim.json"
    victim.parent.mkdir()
    victim.write_bytes((pack / "ratings.json").read_bytes())  # a valid ratings file, even
    before = victim.read_bytes()
    _edit(pack, ratings="../outside/victim.json")
    with pytest.raises(InputError) as err:
        RatingPack(pack)
    assert str(err.value).startswith(f"{pack / 'pack.json'}: [ratings] ")
    assert "outside the pack folder" in str(err.value)
    assert victim.read_bytes() == before
    _edit(pack, ratings=str(victim))  # absolute
    with pytest.raises(InputError, match=r"\[ratings\].*outside the pack folder"):
        RatingPack(pack)


@pytest.mark.parametrize("image", ["/etc/shadow", "../../etc/shadow", "images/../../x.png"])
def test_image_paths_outside_the_pack_are_refused(pack, image):
    _edit(pack, au_images={"0": image})
    with pytest.raises(InputError, match=r"pack.json: \[au_images.0\] .*outside the pack folder"):
        RatingPack(pack)
    _edit(pack, au_images={}, arrow_images={"2": image})
    with pytest.raises(InputError, match=r"\[arrow_images.2\]"):
        RatingPack(pack)


def test_a_symlink_leading_out_of_the_pack_is_refused(tmp_path, pack):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"secret")
    (pack / "images" / "link.png").symlink_to(outside)
    _edit(pack, arrow_images={"0": "images/link.png"})
    with pytest.raises(InputError, match=r"\[arrow_images.0\] .*through a symlink"):
        RatingPack(pack)
    (pack / "ratings.json").rename(tmp_path / "moved.json")
    (pack / "ratings.json").symlink_to(tmp_path / "moved.json")
    _edit(pack, arrow_images={})
    with pytest.raises(InputError, match=r"\[ratings\] .*through a symlink"):
        RatingPack(pack)


def test_a_pack_with_its_own_paths_opens(pack):
    opened = RatingPack(pack)
    assert opened.session.path.parent == pack
    assert all(p.parent == pack / "images" for p in opened.arrow_images.values())
