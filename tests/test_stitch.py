from __future__ import annotations

import numpy as np
import pytest

from hush.stitch import Stitcher


def test_identical_overlaps_rebuild_the_signal_exactly() -> None:
    x = np.random.default_rng(0).standard_normal(1200)
    st = Stitcher(150, 75)
    out = [st.add(i, x[i:i + 150]) for i in range(0, 1200 - 150 + 1, 75)]
    y = np.concatenate(out + [st.flush()])
    np.testing.assert_allclose(y, x)


def test_overlap_add_averages_disagreeing_windows_towards_their_middles() -> None:
    st = Stitcher(4, 2)
    a = st.add(0, np.array([1.0, 1.0, 1.0, 1.0]))
    b = st.add(2, np.array([3.0, 3.0, 3.0, 3.0]))
    rest = st.flush()
    taper = np.hanning(6)[1:-1]
    assert a.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(b, (taper[2:] * 1 + taper[:2] * 3) / (taper[2:] + taper[:2]))
    assert rest.tolist() == [3.0, 3.0]


def test_bad_use_is_refused() -> None:
    with pytest.raises(ValueError, match="hop must be between 1 and the window"):
        Stitcher(150, 0)
    st = Stitcher(10, 5)
    st.add(100, np.zeros(10))
    with pytest.raises(ValueError, match="starts before"):
        st.add(90, np.zeros(10))
    with pytest.raises(ValueError, match="expected 10 samples"):
        st.add(110, np.zeros(3))


def test_subscribe_stitch_cli_rebuilds_one_stream(server, tiny_runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from hush.clients.publisher import Publisher

    x = np.sin(np.linspace(0, 20, 1050)) * 3 + 0.3 * np.random.default_rng(4).standard_normal(1050)
    n = (1050 - 150) // 75 + 1  # 13 windows at hop 75
    sub = subprocess.Popen([sys.executable, "-m", "hush.cli", "subscribe", "--endpoint", server.output_endpoint,
                            "--prefix", "st/", "--stitch", "--hop", "75", "--count", str(n), "--out",
                            str(tmp_path / "s.npy")], stderr=subprocess.PIPE, text=True)
    assert sub.stderr is not None and "subscribed to" in sub.stderr.readline()
    with Publisher(server.input_endpoint, "st/a", rate=100.0) as pub:
        pub.wait_connected()
        assert pub.publish(x, hop=75) == n
    assert sub.wait(60) == 0, sub.stderr.read()
    got = np.load(tmp_path / "s.npy")
    st = Stitcher(150, 75)
    windows = tiny_runner.denoise(np.stack([x[i:i + 150] for i in range(0, 1050 - 150 + 1, 75)]))
    want = np.concatenate([st.add(i * 75, w) for i, w in enumerate(windows)] + [st.flush()])
    assert got.shape == (1050,)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
