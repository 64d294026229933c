"""Tests of the memspice Python module (run by ctest as python.memspice, PYTHONPATH=build/python)."""
import math
import os
import shutil

import numpy as np
import pytest

import memspice

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# RC low-pass charged by a 1 V step: v(out) = 1 - exp(-t / (r c)), tau = 1 ms.
RC_DECK = """* rc step
.param r=1k
V1 in 0 DC 1
R1 in out {r}
C1 out 0 1u IC=0
.tran 10u 5m uic
.end
"""


def test_simulate_text_deck_matches_analytic_rc():
    r = memspice.simulate(RC_DECK, method="trap")
    t, v = r.time, r["v(out)"]
    assert isinstance(t, np.ndarray) and isinstance(v, np.ndarray)
    assert t.shape == v.shape and len(t) > 50
    assert np.all(np.diff(t) > 0)
    exact = 1.0 - np.exp(-t / 1e-3)
    assert np.max(np.abs(v - exact)) < 5e-3
    np.testing.assert_array_equal(r["V(OUT)"], v)  # names are case-insensitive
    assert "v(out)" in r and "v(nowhere)" not in r


def test_params_override_changes_time_constant():
    slow = memspice.simulate(RC_DECK, params={"r": 2e3})
    t = slow.time
    k = np.searchsorted(t, 2e-3)
    assert slow["v(out)"][k] == pytest.approx(1 - math.exp(-t[k] / 2e-3), abs=5e-3)


def test_unknown_signal_lists_the_signals():
    r = memspice.simulate(RC_DECK)
    with pytest.raises(KeyError, match=r"v\(out\)"):
        r["v(nowhere)"]


def test_mif_neuron_example_from_path():
    r = memspice.simulate(os.path.join(REPO, "circuits", "examples", "mif_neuron.cir"))
    v = r["v(v)"]
    k = int(np.argmax(v))
    # The example's documented response: peak 107.9 mV at 0.12 ms.
    assert v[k] == pytest.approx(0.1079, abs=1e-3)
    assert r.time[k] == pytest.approx(0.12e-3, abs=0.03e-3)


def test_to_raw_writes_every_plot(tmp_path):
    r = memspice.simulate(RC_DECK.replace(".tran", ".op\n.tran"))
    assert [p.analysis for p in r.plots] == ["Operating Point", "Transient Analysis"]
    path = r.to_raw(tmp_path / "rc.raw", ascii=True)
    text = open(path).read()
    assert text.count("Plotname:") == 2
    assert f"No. Points: {len(r.time)}" in text


def test_netlist_error_carries_file_line_col(tmp_path):
    deck = tmp_path / "bad.cir"
    deck.write_text("* bad\nV1 in 0 DC 1\nR1 in out 1x5\n.tran 1u 1m\n.end\n")
    with pytest.raises(memspice.NetlistError) as info:
        memspice.simulate(deck)
    message = str(info.value)
    assert f"{deck}:3:" in message and "^" in message
    first = info.value.diagnostics[0]
    assert first["line"] == 3 and first["col"] > 0 and first["file"] == str(deck)
    assert isinstance(info.value, memspice.Error)


def test_missing_file_and_missing_analysis():
    with pytest.raises(memspice.SimulationError, match="no such file"):
        memspice.simulate("/nonexistent/deck.cir")
    with pytest.raises(memspice.SimulationError, match="no analysis"):
        memspice.simulate("* no analysis\nR1 a 0 1k\nV1 a 0 1\n.end\n")


def test_wrong_types_are_clear(tmp_path):
    with pytest.raises(TypeError, match="deck must be a path"):
        memspice.simulate(42)
    with pytest.raises(TypeError, match=r"params must be a dict"):
        memspice.simulate(RC_DECK, params=[("r", 1)])
    with pytest.raises(TypeError, match=r"params\['r'\] must be a number"):
        memspice.simulate(RC_DECK, params={"r": "1k"})
    with pytest.raises(TypeError, match="method must be a str"):
        memspice.simulate(RC_DECK, method=3)
    with pytest.raises(ValueError, match="method='midpoint' is not known"):
        memspice.simulate(RC_DECK, method="midpoint")
    with pytest.raises(TypeError, match="wrt must be a str or a list of str"):
        memspice.grad(RC_DECK, "final(v(out))", wrt=5)
    with pytest.raises(TypeError, match="unknown option 'epoch'"):
        memspice.train(tmp_path, epoch=1)
    with pytest.raises(TypeError, match="data must be a tuple"):
        memspice.train(tmp_path, data=[1, 2])


def test_grad_matches_finite_differences():
    g = memspice.grad(RC_DECK, "integral(v(out))", ["r"], check=True)
    assert set(g) == {"r"}
    # d/dr of integral(1 - exp(-t/(r c))) over [0, 5 ms] < 0 and equals the central difference.
    assert g["r"] < 0
    assert g["r"] == pytest.approx(g.fd["r"], rel=1e-4)
    assert g.objective == pytest.approx(5e-3 - 1e-3 * (1 - math.exp(-5)), rel=2e-3)


def test_compare_with_ngspice():
    if shutil.which("ngspice") is None:
        pytest.skip("ngspice is not installed: skipped")
    c = memspice.compare(RC_DECK, signals=["v(out)"])
    assert c["passed"], c["report"]
    assert "v(out)" in c["analyses"][0]["signals"]


def _toy_data(n, features=16, seed=0):
    """Two classes: bright left half or bright right half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.uniform(0.0, 0.2, (n, features)).astype(np.float32)
    half = features // 2
    for i in range(n):
        lo = 0 if y[i] == 0 else half
        x[i, lo:lo + half] += 0.8
    return x, y.astype(np.int32)


def test_train_and_load_run(tmp_path):
    xtr, ytr = _toy_data(64)
    xte, yte = _toy_data(32, seed=1)
    run = memspice.train(tmp_path / "run", data=(xtr, ytr, xte, yte), layers=[16, 8, 2],
                         steps=60, period=20, epochs=2, batch_size=16, lr=1e-2, threads=1,
                         lr_schedule="cosine", lr_min=1e-3)
    assert run.finished and len(run.history) == 2
    assert [g.shape for g in run.g_plus] == [(16, 8), (8, 2)]
    g = run.conductances()
    assert g.min() >= run.g_min and g.max() <= run.g_max
    again = memspice.load_run(tmp_path / "run")
    for a, b in zip(run.g_plus + run.g_minus, again.g_plus + again.g_minus):
        np.testing.assert_array_equal(a, b)
    assert 0.0 <= run.history[-1]["test_accuracy"] <= 1.0


def test_train_errors(tmp_path):
    xtr, ytr = _toy_data(8)
    with pytest.raises(memspice.TrainingError, match="label"):
        memspice.train(tmp_path / "run", data=(xtr, ytr + 5, xtr, ytr),
                       layers=[16, 4, 2], steps=20, epochs=1)
    with pytest.raises(ValueError, match="batch_size"):
        memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2],
                       batch_size=0)
    with pytest.raises(memspice.TrainingError, match="lr_schedule"):
        memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2],
                       lr_schedule="step")
    with pytest.raises(memspice.TrainingError, match="no checkpoint"):
        memspice.load_run("/nonexistent/run")


def _device_card():
    return os.path.join(os.path.dirname(__file__), "..", "..", "circuits", "lib",
                        "synapse_device.lib")


def test_train_device_updates_and_evaluate(tmp_path):
    xtr, ytr = _toy_data(64)
    xte, yte = _toy_data(32, seed=1)
    run = memspice.train(tmp_path / "run", data=(xtr, ytr, xte, yte), layers=[16, 8, 2],
                         steps=60, period=20, epochs=1, batch_size=16, lr=1e-2, threads=1,
                         update="eapu", device=_device_card(), write_sd=2e-6, stuck_on=0.01,
                         device_seed=3)
    h = run.history[-1]
    assert 0.0 < h["r_up"] <= 1.0 and h["pulses"] > 0 and h["energy"] > 0
    # The run records the device settings given over the card's.
    assert run.config["g_max"] == pytest.approx(1e-3)
    # Without noise, evaluate gives the run's own test accuracy on the same data.
    r = memspice.evaluate(tmp_path / "run", data=(xte, yte), threads=1)
    assert r["count"] == 32 and r["confusion"].shape == (2, 2)
    assert r["confusion"].sum() == 32
    assert r["accuracy"] == pytest.approx(h["test_accuracy"], abs=1e-12)
    # A fresh noisy array: the same seed gives the same array, another seed another one.
    noisy = [memspice.evaluate(tmp_path / "run", data=(xte, yte), threads=1, noise_seed=s,
                               stuck_on=0.5, write_sd=5e-5)["loss"] for s in (1, 1, 2)]
    assert noisy[0] == noisy[1] and noisy[0] != noisy[2]
    assert noisy[0] != pytest.approx(r["loss"], rel=1e-6)


def test_device_settings_errors(tmp_path):
    xtr, ytr = _toy_data(8)
    assert "write_sd" in memspice.device_setting_keys()
    assert "device_seed" in memspice.device_setting_keys()
    with pytest.raises(TypeError, match="unknown option 'write_noise'"):
        memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2],
                       write_noise=1e-6)
    with pytest.raises(ValueError, match="write_sd"):
        memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2],
                       steps=20, update="pulse", write_sd=-1e-6)
    with pytest.raises(memspice.TrainingError, match="update"):
        memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2],
                       steps=20, update="stochastic")
    memspice.train(tmp_path / "ok", data=(xtr, ytr, xtr, ytr), layers=[16, 4, 2], steps=20,
                   period=10, epochs=1, batch_size=8, threads=1)
    with pytest.raises(ValueError, match="noise_seed"):
        memspice.evaluate(tmp_path / "ok", data=(xtr, ytr), write_sd=1e-6)
    with pytest.raises(TypeError, match="test_images, test_labels"):
        memspice.evaluate(tmp_path / "ok", data=(xtr, ytr, xtr, ytr))


def test_train_preset(tmp_path):
    xtr, ytr = _toy_data(16)
    # The paper preset's settings hold where no keyword overrides them.
    run = memspice.train(tmp_path / "run", data=(xtr, ytr, xtr, ytr), preset="paper",
                         layers=[16, 4, 2], steps=30, period=10, epochs=1, batch_size=8,
                         threads=1)
    assert run.config["steps"] == 30 and run.config["layer_sizes"] == [16, 4, 2]
    assert run.config["lr"] == 1e-4 and run.config["dt"] == 1e-5  # the paper's
    default = memspice.train(tmp_path / "default", data=(xtr, ytr, xtr, ytr),
                             layers=[16, 4, 2], steps=30, period=10, epochs=1, batch_size=8,
                             threads=1)
    assert default.config["lr"] != run.config["lr"]
    with pytest.raises(memspice.TrainingError, match="preset"):
        memspice.train(tmp_path / "bad", data=(xtr, ytr, xtr, ytr), preset="fast")
