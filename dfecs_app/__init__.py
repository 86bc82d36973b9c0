"""DFECS Studio: learn, inspect and rate a Data-driven Facial Expression Coding System."""

__version__ = "0.1.0"
