"""Pure computation: numpy, scipy, scikit-learn (and numba kernels). Never imports Qt or reads files."""
