"""DFECS Studio: learn, inspect and rate a Data-driven Facial Expression Coding System."""

__version__ = "0.1.0"


def encode(model, paths, **options):  # noqa: ANN001, ANN201 - documented in io.coding.encode
    """Per-frame AU activations of videos, landmark or KPM files: a pandas DataFrame.

    ``dfecs_app.encode(model, paths, **options)`` is :func:`dfecs_app.io.coding.encode`
    (the function ``dfecs encode`` and the Code panel use); see it for the options and columns.
    """
    from dfecs_app.io.coding import encode as _encode

    return _encode(model, paths, **options)
