"""What the app tells its users about the licences of the models it runs (see README, Licences).

:data:`PREDICTOR_NOTICE` is shown where the dlib 68-point predictor is used: ``dfecs track
--help`` and the About box of the desktop app.
"""

from __future__ import annotations

__all__ = ["PREDICTOR_NOTICE"]

#: The dlib 68-point shape predictor's terms, in one paragraph.
PREDICTOR_NOTICE = (
    "Landmark tracking uses dlib's 68-point shape predictor (face-recognition-models; the file "
    "itself is CC0) trained on the iBUG 300-W data set, whose licence excludes commercial use: "
    "use the tracker for research, not in a commercial product."
)
