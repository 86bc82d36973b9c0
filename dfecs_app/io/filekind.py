"""What a binary file is, from its first bytes: for errors that say "this is a PNG image"
instead of "not UTF-8 text" when a picture or a video is offered where text is expected."""

from __future__ import annotations

__all__ = ["binary_kind", "media_hint"]

#: (offset, signature, what the file is).
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (0, b"BM", "a BMP image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"P6\n", "a PPM image"),
    (0, b"P6 ", "a PPM image"),
    (0, b"P5\n", "a PGM image"),
    (0, b"P5 ", "a PGM image"),
    (4, b"ftyp", "an MP4/MOV video"),
    (0, b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
    (0, b"%PDF-", "a PDF document"),
    (0, b"\x93NUMPY", "a NumPy array (.npy)"),
    (0, b"PK\x03\x04", "a ZIP archive (or .npz)"),
)
_VIDEO_RIFF = {b"AVI ": "an AVI video", b"WEBP": "a WebP image", b"WAVE": "a WAV sound file"}


def binary_kind(head: bytes) -> str | None:
    """``"a PNG image"``, ``"an MP4/MOV video"``, ... for the first bytes of a known binary
    format (16 are enough), else None."""
    for offset, sig, what in _SIGNATURES:
        if head[offset:offset + len(sig)] == sig:
            if what == "a BMP image" and head[6:10] != b"\x00\x00\x00\x00":
                continue  # a BMP's reserved bytes are zero; this is rather text starting "BM"
            return what
    if head[:4] == b"RIFF":
        return _VIDEO_RIFF.get(head[8:12], "a RIFF media file")
    return None


def media_hint(kind: str) -> str:
    """What to do instead with an image or a video ("" for other kinds)."""
    if kind.endswith("image"):
        return ("; use it as the neutral face (Neutral face panel) or find its landmarks with "
                "dfecs track")
    if kind.endswith("video"):
        return "; find its landmarks with dfecs track, then open the track file"
    return ""
