"""Noise kinds, held-out families and the classical baselines: the rules `hush eval` relies on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hush.config import TrainConfig
from hush.trainer import data, evaluate, noise
from hush.trainer.heldout import HELDOUT

CFG = TrainConfig(families=["sines", "chirp", "steps", "walk", "pulses", "spiky", "ramps", "am"])


def _snr(clean: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    return 10 * np.log10(clean.var(axis=1) / ((noisy - clean) ** 2).mean(axis=1))


@pytest.mark.parametrize("kind", [k for k in noise.KINDS if k != "dropout"])
def test_every_kind_has_the_asked_snr(kind: str) -> None:
    rng = np.random.default_rng(3)
    clean = data.synthetic_clean(CFG, 1000, rng)
    for snr in (0.0, 10.0, 25.0):
        got = _snr(clean, noise.add_noise(clean, CFG, rng, snr, [kind]))
        assert abs(np.median(got) - snr) < 0.3, (kind, snr, np.median(got))


def test_dropouts_reach_the_snr_where_the_signal_allows() -> None:
    """Held values can only do so much harm to a slow signal; on a busy one the SNR is met."""
    rng = np.random.default_rng(4)
    clean = data.synthetic_clean(TrainConfig(families=["sines"], freq_max=12.0), 500, rng)
    got = _snr(clean, noise.add_noise(clean, CFG, rng, 10.0, ["dropout"]))
    assert abs(np.median(got) - 10.0) < 1.0
    held = noise.add_noise(clean, CFG, rng, 10.0, ["dropout"]) - clean
    assert (held == 0).mean() > 0.3  # most samples are untouched: the error is runs of held values


def test_noise_kinds_look_like_themselves() -> None:
    rng = np.random.default_rng(5)
    clean = np.zeros((400, 150)) + np.sin(np.linspace(0, 6, 150))
    spikes = noise.add_noise(clean, CFG, rng, 10.0, ["spikes"]) - clean
    assert np.median((np.abs(spikes) > 1e-9).mean(axis=1)) < 0.1  # sparse
    hum = noise.add_noise(clean, CFG, rng, 10.0, ["hum"]) - clean
    spec = np.abs(np.fft.rfft(hum, axis=1)).mean(axis=0)
    peak = np.argmax(spec) * 360.0 / 150  # Hz at the default rate of 360
    assert 45 < peak < 65
    clipped = noise.add_noise(clean, CFG, rng, 10.0, ["clip"])
    assert np.all(clipped.max(axis=1) <= clean.max(axis=1) + 1e-9)  # clipping only takes away


def test_mix_is_noise_of_several_kinds_at_the_snr() -> None:
    rng = np.random.default_rng(6)
    clean = data.synthetic_clean(CFG, 2000, rng)
    got = _snr(clean, noise.add_noise(clean, CFG, rng, 5.0, ["mix"]))
    assert abs(np.median(got) - 5.0) < 0.5


def test_fixed_level_noise_is_one_power_whatever_the_amplitude() -> None:
    rng = np.random.default_rng(7)
    clean = data.synthetic_clean(CFG, 1000, rng)  # amplitudes 0.1-10
    e = noise.add_noise_at_level(clean, ["white"], rng, 360.0, 10.0) - clean
    assert np.ptp(np.log10(e.var(axis=1))) < 0.5  # one level (sampling spread only)
    snr = _snr(clean, clean + e)
    assert snr.max() - snr.min() > 30  # while the per-window SNR spans decades
    total = 10 * np.log10(clean.var(axis=1).sum() / (e**2).mean(axis=1).sum())
    assert abs(total - 10.0) < 0.3


def test_unknown_or_mixed_kinds_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mix alone"):
        noise.add_noise(np.ones((2, 150)), CFG, rng, 10.0, ["mix", "white"])
    with pytest.raises(ValueError, match="bogus"):
        noise.add_noise(np.ones((2, 150)), CFG, rng, 10.0, ["bogus"])


def test_held_out_families_are_really_held_out() -> None:
    assert not set(HELDOUT) & set(data.FAMILIES)
    assert not set(HELDOUT) & set(TrainConfig().families)
    rng = np.random.default_rng(8)
    x, label = data.labelled_clean(TrainConfig(families=list(HELDOUT)), 800, rng, HELDOUT)
    assert x.shape == (800, 150) and np.isfinite(x).all() and set(label) == set(range(len(HELDOUT)))
    assert all(np.ptp(x[label == i], axis=1).min() > 0 for i in range(len(HELDOUT)))  # no flat windows


def test_median_baseline_removes_spikes_and_notch_removes_hum() -> None:
    rng = np.random.default_rng(9)
    clean = data.synthetic_clean(TrainConfig(families=["walk"], freq_max=4.0), 400, rng)  # slow: apart from hum
    spiky = noise.add_noise(clean, CFG, rng, 10.0, ["spikes"])
    b = evaluate.best_baselines(clean, spiky)
    assert b["median"]["snr_gain_db"] > b["moving average"]["snr_gain_db"] + 5
    hum = noise.add_noise(clean, CFG, rng, 10.0, ["hum"])
    b = evaluate.best_baselines(clean, hum)
    assert b["notch"]["snr_gain_db"] > 10 and b["notch"]["setting"].endswith(("h3,Q2.0", "h5,Q2.0", "h3,Q5.0",
                                                                              "h5,Q5.0", "h3,Q15.0", "h5,Q15.0"))


def test_a_filter_drawn_for_the_pictures_takes_flat_windows_quietly() -> None:
    """A sensor at rest gives flat windows, whose zero variance scipy's Wiener filter divides by before it
    takes the local mean there: the answer is exact and no warning reaches the user's log."""
    rng = np.random.default_rng(3)
    noisy = np.sin(np.linspace(0, 6, 150)) + 0.1 * rng.standard_normal((20, 150))
    noisy[:5] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = evaluate.best_estimate(noisy, "Wiener", "k=5")
    assert np.array_equal(y[:5], noisy[:5]) and np.isfinite(y).all()


def test_a_window_that_does_not_vary_has_no_snr_and_moves_no_mean() -> None:
    """An ideal square wave with no edge inside the window is flat: no SNR is defined for it, so it is left
    out of the mean rather than scored some -500 dB for a change of a few millionths."""
    rng = np.random.default_rng(4)
    clean = np.sin(np.linspace(0, 6, 150)) * rng.uniform(1, 2, (10, 1))
    noisy = clean + 0.1 * rng.standard_normal(clean.shape)
    denoised = clean + 0.03 * rng.standard_normal(clean.shape)
    alone = evaluate.compare(clean, noisy, denoised)
    flat = np.full((2, 150), 700.0)
    flat[1] = -1.6e9 + np.arange(150) % 2 * 2e-7  # flat but for float64 rounding at its level
    both = evaluate.compare(np.vstack([clean, flat]), np.vstack([noisy, flat]), np.vstack([denoised, flat + 1e-3]))
    assert both["snr_gain_db"] == pytest.approx(alone["snr_gain_db"]) and 8 < alone["snr_gain_db"] < 13


def test_alias_folds_tones_into_the_band() -> None:
    assert evaluate.alias(60.0, 360.0) == 60.0
    assert evaluate.alias(240.0, 360.0) == 120.0  # the 4th harmonic of 60 Hz at 360 Hz
    assert evaluate.alias(180.0, 360.0) == 180.0


def test_median_channels_are_exact_running_medians() -> None:
    from keras import Model
    from scipy.ndimage import median_filter

    from hush.trainer.model import dilated_model

    m = dilated_model(150, 4, 3, [1], median_channels=True)
    x = np.random.default_rng(1).standard_normal((3, 150, 1)).astype("float32")
    y = np.asarray(Model(m.input, m.get_layer("with_medians").output)(x))
    for ch, k in ((1, 3), (2, 5)):
        np.testing.assert_array_equal(y[:, :, ch], median_filter(x[:, :, 0], size=(1, k), mode="nearest"))


def test_noise_level_from_the_noisy_windows_alone() -> None:
    rng = np.random.default_rng(10)
    clean = data.synthetic_clean(TrainConfig(families=["sines", "steps"], freq_max=4.0), 400, rng)
    noisy = noise.add_noise(clean, CFG, rng, 10.0, ["white"])
    ratio = evaluate.noise_sigma(noisy) / (noisy - clean).std(axis=1)
    assert 0.85 < np.median(ratio) < 1.2


def test_blind_baselines_need_no_truth_and_cannot_beat_the_oracle() -> None:
    rng = np.random.default_rng(11)
    clean = data.synthetic_clean(TrainConfig(families=["sines", "damped"], freq_max=4.0), 400, rng)
    noisy = noise.add_noise(clean, CFG, rng, 10.0, ["white"])
    blind, oracle = evaluate.blind_baselines(clean, noisy), evaluate.best_baselines(clean, noisy)
    assert set(blind) == set(evaluate.BLIND)
    for name, b in blind.items():
        assert 0 < b["snr_gain_db"] <= oracle[name]["snr_gain_db"] + 1e-9
    # the choice does not look at the truth: the same noisy windows with another truth choose the same
    other = evaluate.blind_baselines(clean * 0, noisy)
    assert {k: v["setting"] for k, v in other.items()} == {k: v["setting"] for k, v in blind.items()}


def _spy_on_kinds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the additive kinds drawn from now on, in order."""
    drawn: list[str] = []
    for name, kind in list(noise.ADDITIVE.items()):
        def spy(*args: object, _name: str = name, _kind: noise.Kind = kind) -> np.ndarray:
            drawn.append(_name)
            return _kind(*args)  # type: ignore[arg-type]
        monkeypatch.setitem(noise.ADDITIVE, name, spy)
    return drawn


def test_mix_leaves_out_what_one_window_cannot_tell_from_signal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Brown noise and wander are never drawn for the default's training noise (a model taught to remove
    them removes slow signal too), while pink, spikes and hum are, each sometimes alone."""
    drawn = _spy_on_kinds(monkeypatch)
    rng = np.random.default_rng(12)
    clean = data.synthetic_clean(CFG, 2000, rng)
    noisy = noise.add_noise(clean, CFG, rng, 10.0, ["mix"])
    assert np.isfinite(noisy).all()
    assert set(drawn) == {"white", "pink", "spikes", "hum"}


def test_training_mix_draws_its_mix_kinds_and_eval_mix_stays_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mix_kinds` without spikes: the training noise (kinds from the config) never draws impulses, while a
    kind list named by the caller, as `hush eval` names `mix`, is the whole mix for every model."""
    drawn = _spy_on_kinds(monkeypatch)
    cfg = TrainConfig(mix_kinds=["white", "pink", "hum"])
    rng = np.random.default_rng(13)
    clean = data.synthetic_clean(CFG, 2000, rng)
    noisy = noise.add_noise(clean, cfg, rng)
    assert set(drawn) == {"white", "pink", "hum"}
    assert abs(np.median(_snr(clean, noise.add_noise(clean, cfg, rng, 5.0))) - 5.0) < 0.5  # still at the SNR
    drawn.clear()
    noise.add_noise(clean, cfg, rng, 10.0, ["mix"])
    assert set(drawn) == {"white", "pink", "spikes", "hum"}
    assert np.isfinite(noisy).all()
