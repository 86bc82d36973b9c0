"""The ``dfecs`` command line; each sub-command group lives in its own module."""
