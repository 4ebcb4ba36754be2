"""The 95% intervals behind the lessons' verdicts: Student's t critical values, the t interval of a mean and of
paired differences, and Wilson's interval of a proportion, against values computed by hand and by simulation."""
import numpy as np
import pytest

from minidl.analysis import mean_interval, paired_interval, proportion_interval, t_critical


def test_t_critical_matches_the_tables_and_joins_the_expansion_smoothly():
    assert t_critical(1) == 12.706 and t_critical(2) == 4.303 and t_critical(4) == 2.776
    assert t_critical(30) == 2.042
    # beyond the table: the exact quantiles 2.0395 (31), 2.0211 (40), 2.0003 (60), 1.9799 (120)
    for df, exact in ((31, 2.0395), (40, 2.0211), (60, 2.0003), (120, 1.9799)):
        assert abs(t_critical(df) - exact) < 2e-4
    assert abs(t_critical(10 ** 6) - 1.96) < 1e-3
    with pytest.raises(ValueError, match="t_critical: degrees of freedom must be a positive integer, got 0"):
        t_critical(0)


def test_mean_interval_by_hand():
    # mean 2, sd 1, n 3: half-width 4.303 / sqrt(3)
    iv = mean_interval([1.0, 2.0, 3.0])
    assert iv.value == 2.0 and iv.n == 3
    assert iv.low == pytest.approx(2 - 4.303 / 3 ** 0.5) and iv.high == pytest.approx(2 + 4.303 / 3 ** 0.5)
    assert iv.ci95 == [iv.low, iv.high]
    assert iv.excludes(-1.0) == 1 and iv.excludes(0.0) == 0 and iv.excludes(5.0) == -1
    single = mean_interval([7.5])
    assert single.value == 7.5 and single.ci95 is None and single.excludes(0.0) == 0
    with pytest.raises(ValueError, match="mean_interval: expected at least one finite value"):
        mean_interval([1.0, float("nan")])


def test_the_t_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    covered = [mean_interval(rng.normal(1.0, 3.0, size=3)).excludes(1.0) == 0 for _ in range(4000)]
    assert 0.935 < np.mean(covered) < 0.965  # 1.96 instead of 4.303 would cover only about 80% with n = 3


def test_pairing_removes_what_both_arms_share():
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 10, size=5)  # a seed effect common to both arms
    a, b = shared + 1.0 + rng.normal(0, 0.1, 5), shared + rng.normal(0, 0.1, 5)
    paired = paired_interval(a, b)
    assert paired.excludes(0.0) == 1 and abs(paired.value - 1.0) < 0.3
    assert mean_interval(a).excludes(mean_interval(b).value) == 0  # unpaired, the seed noise hides the effect
    with pytest.raises(ValueError, match="paired_interval: the two arms need one value per pair, got 2 and 3"):
        paired_interval([1, 2], [1, 2, 3])


def test_wilson_interval_by_hand_and_at_the_edges():
    iv = proportion_interval(50, 100)
    assert iv.value == 0.5 and iv.low == pytest.approx(0.4038, abs=1e-4) and iv.high == pytest.approx(0.5962, abs=1e-4)
    zero = proportion_interval(0, 20)
    assert zero.low == pytest.approx(0.0, abs=1e-12) and 0.15 < zero.high < 0.17  # 0.1611 by the formula
    with pytest.raises(ValueError, match="proportion_interval: expected 0 <= successes <= n"):
        proportion_interval(5, 4)
