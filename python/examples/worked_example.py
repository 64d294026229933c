"""The worked example of docs/python.md: a MIF neuron, an MSS parameter fit, a small MEMprop
network and its conductance histogram. Writes python_*.png into OUTDIR (default docs/img).

    PYTHONPATH=build/python /usr/bin/python3 python/examples/worked_example.py [OUTDIR]
"""
import os
import shutil
import sys
import tempfile
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import memspice  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "docs", "img")
os.makedirs(OUT, exist_ok=True)
work = tempfile.mkdtemp(prefix="memspice-example-")

# 1. Simulate the MIF neuron of the quick start and plot its membrane and memristor states.
r = memspice.simulate(os.path.join(REPO, "circuits", "examples", "mif_neuron.cir"))
t_ms = r.time * 1e3
k = int(np.argmax(r["v(v)"]))
print(f"MIF neuron: {len(r.time)} points, peak {1e3 * r['v(v)'][k]:.1f} mV at {t_ms[k]:.3f} ms")
fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(7, 5))
ax1.plot(t_ms, 1e3 * r["v(v)"])
ax1.set_ylabel("v(v) [mV]")
ax1.set_title("MIF neuron, one alpha input (memspice.simulate)")
ax2.plot(t_ms, r["x(xn1.m1)"], label="x(xn1.m1)")
ax2.plot(t_ms, r["x(xn1.m2)"], label="x(xn1.m2)")
ax2.set_yscale("log")
ax2.set_xlabel("time [ms]")
ax2.set_ylabel("memristor state")
ax2.legend()
fig.tight_layout()
fig.savefig(os.path.join(OUT, "python_mif.png"), dpi=90)

# 2. Fit an MSS parameter: R_on of a memristor under a sine, from a "measured" current made with
#    R_on = 1.5 kOhm. The objective's gradient comes from the adjoint; Newton steps on dJ/dR_on
#    (secant on the gradient) converge in a few simulations.
DECK = """* MSS memristor under a sine, R_on as a .param
.include mss.lib
.param ron=1k
V1 in 0 SIN(0 0.3 200)
R1 in p 100
YMSS m1 p 0 mss_neuron x0=0.1 ron={ron}
.tran 5u 10m 0 5u
.end
"""
measured = memspice.simulate(DECK, params={"ron": 1500.0})
target_csv = os.path.join(work, "target.csv")
np.savetxt(target_csv, np.column_stack([measured.time, measured["i(v1)"]]), delimiter=",",
           header="time,i(v1)", comments="")
objective = f"mse(i(v1), {target_csv})"
ron, prev = 800.0, None
history = []
for it in range(12):
    g = memspice.grad(DECK, objective, ["ron"], params={"ron": ron})
    history.append((ron, g.objective))
    print(f"fit iteration {it}: ron = {ron:9.3f} ohm, J = {g.objective:.3e}, dJ/dron = {g['ron']:.3e}")
    if g.objective < 1e-18:
        break
    if prev is None:
        step = -0.1 * ron * np.sign(g["ron"])
    else:
        step = -g["ron"] * (ron - prev[0]) / (g["ron"] - prev[1])
    prev = (ron, g["ron"])
    ron = float(np.clip(ron + step, 0.5 * ron, 2.0 * ron))
    if abs(step) < 1e-6 * ron:
        break
print(f"fitted ron = {ron:.4f} ohm (true 1500)")
fitted = memspice.simulate(DECK, params={"ron": ron})
start = memspice.simulate(DECK, params={"ron": 800.0})
fig, ax = plt.subplots(figsize=(6, 4.5))
ax.plot(measured["v(p)"], -1e3 * measured["i(v1)"], "k", lw=3, alpha=0.4, label="target (R_on = 1.5k)")
ax.plot(start["v(p)"], -1e3 * start["i(v1)"], "--", label="start (R_on = 800)")
ax.plot(fitted["v(p)"], -1e3 * fitted["i(v1)"], label=f"fitted (R_on = {ron:.1f})")
ax.set_xlabel("v(p) [V]")
ax.set_ylabel("current [mA]")
ax.set_title("MSS R_on fitted with memspice.grad")
ax.legend()
fig.tight_layout()
fig.savefig(os.path.join(OUT, "python_fit.png"), dpi=90)

# 3. Train a small network on a Fashion-MNIST subset and look at the trained conductances.
t0 = time.time()
run = memspice.train(os.path.join(work, "run"), dataset="fashion-mnist", layers=[784, 32, 10],
                     steps=300, period=30, epochs=4, batch_size=64, lr=3e-3, max_train=2048,
                     max_test=1000, threads=2)
print(f"trained in {time.time() - t0:.0f} s: {run}")
for m in run.history:
    print(f"  epoch {m['epoch']}: train acc {100 * m['train_accuracy']:.1f} %, "
          f"test acc {100 * m['test_accuracy']:.1f} %")
g = run.conductances() * 1e3
w = np.concatenate([x.ravel() for x in run.weights]) * 1e3
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 4))
epochs = [m["epoch"] for m in run.history]
ax1.plot(epochs, [100 * m["train_accuracy"] for m in run.history], "o-", label="train")
ax1.plot(epochs, [100 * m["test_accuracy"] for m in run.history], "s-", label="test")
ax1.set_xticks(epochs)
ax1.set_xlabel("epoch")
ax1.set_ylabel("accuracy [%]")
ax1.set_title("784-32-10 MEMprop, 2048 samples")
ax1.legend()
ax2.hist(g, bins=60)
ax2.set_yscale("log")
ax2.set_xlabel("conductance [mS]")
ax2.set_ylabel("devices")
ax2.set_title(f"{g.size} conductances (G+ and G-)")
ax3.hist(w, bins=60)
ax3.set_yscale("log")
ax3.set_xlabel("weight G+ - G- [mS]")
ax3.set_title("signed weights")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "python_train.png"), dpi=90)
at_bounds = np.mean((g <= 1e3 * run.g_min * 1.001) | (g >= 1e3 * run.g_max * 0.999))
print(f"conductances: mean {g.mean():.3f} mS, std {g.std():.3f} mS, {100 * at_bounds:.1f} % at "
      f"g_min or g_max")
shutil.rmtree(work)
print(f"figures in {OUT}")
