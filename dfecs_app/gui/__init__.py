"""PySide6 widgets of DFECS Studio."""
