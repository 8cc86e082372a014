"""detectors/magnitude.py: one block's |a| and its spread, shared by every caller."""

from __future__ import annotations

import numpy as np

from detectors.magnitude import magnitude, magnitude_std


def _block(seed: int, n: int = 250) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.6, (n, 3))


def test_the_figures_are_those_each_caller_computed_before_bit_for_bit() -> None:
    xyz = _block(1)
    mag = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
    assert np.array_equal(magnitude(xyz), mag)
    assert magnitude_std(xyz) == float(mag.std())
    assert magnitude(xyz) is magnitude(xyz)   # the second caller gets the first's work


def test_another_block_is_worked_out_afresh_even_with_the_same_samples() -> None:
    a = _block(2)
    b = _block(3)
    std_a = magnitude_std(a)
    std_b = magnitude_std(b)
    assert std_a != std_b
    assert std_b == float(np.sqrt(np.einsum("ij,ij->i", b, b)).std())
    c = a.copy()   # equal samples, another block: not taken for `a` by its contents
    assert magnitude(c) is not magnitude(a)
    assert magnitude_std(a) == std_a
