"""memspice from Python: SPICE simulation, adjoint gradients and MEMprop training.

    import memspice
    r = memspice.simulate("neuron.cir")             # a path, or the deck text itself
    t, v = r.time, r["v(out)"]                      # numpy arrays
    g = memspice.grad("neuron.cir", "integral(v(out)^2)", ["m1:x0"])
    run = memspice.train("runs/small", layers=[784, 20, 10], epochs=1, max_train=512)
    run.g_plus[0]                                   # trained conductances [S], numpy (in x out)

Errors are exceptions derived from memspice.Error: NetlistError (deck errors, its message is
`file:line:col: error: ...` with the source line and a caret, `.diagnostics` lists each one),
SimulationError (non-convergence, bad options, I/O) and TrainingError. Arguments of the wrong type
raise TypeError naming the argument and what it should be.
"""

import json
import os
import tempfile

import numpy as np

from . import _memspice
from ._memspice import Error, NetlistError, SimulationError, TrainingError

__all__ = ["simulate", "grad", "compare", "train", "evaluate", "device_setting_keys", "load_run",
           "Result", "Run", "Error",
           "NetlistError", "SimulationError", "TrainingError", "library_dirs"]

_PACKAGE_LIB = os.path.join(os.path.dirname(__file__), "lib")  # installed copy of circuits/lib


def library_dirs(extra=()):
    """Directories searched by .include/.lib after the deck's own: `extra`, $MEMSPICE_LIB
    (colon separated), then the netlist library (mif.lib, mss.lib) as the CLI does."""
    dirs = [os.fspath(d) for d in extra]
    dirs += [d for d in os.environ.get("MEMSPICE_LIB", "").split(":") if d]
    dirs.append(_PACKAGE_LIB if os.path.isdir(_PACKAGE_LIB) else _memspice.SOURCE_LIB_DIR)
    return dirs


def _type_name(value):
    return type(value).__name__


def _check_str(name, value, allow_none=False):
    if value is None and allow_none:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {_type_name(value)}")
    return value


def _check_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {_type_name(value)}")
    return float(value)


def _check_int(name, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} = {value} must be >= {minimum}")
    return int(value)


def _check_str_list(name, value):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a str or a list of str, got {_type_name(value)}")
    return list(value)


def _check_params(params):
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict {{name: number}}, got {_type_name(params)}")
    out = {}
    for k, v in params.items():
        if not isinstance(k, str):
            raise TypeError(f"params keys must be .param names (str), got {_type_name(k)}")
        out[k.lower()] = _check_number(f"params['{k}']", v)
    return out


def _deck(deck, params=None, include_dirs=()):
    """A deck is a path (str or os.PathLike) or the netlist text (a str with a newline)."""
    if isinstance(deck, os.PathLike):
        deck = os.fspath(deck)
    if not isinstance(deck, str):
        raise TypeError(
            f"deck must be a path (str or pathlib.Path) or the netlist text, got {_type_name(deck)}")
    is_path = "\n" not in deck
    return _memspice.deck_source(deck, is_path, _check_params(params),
                                 library_dirs(include_dirs)), is_path


class Plot:
    """One analysis: `scale` (time, sweep values; empty for .op), `names`, and `data`
    (points x signals). `plot["v(out)"]` is one signal as a numpy array."""

    def __init__(self, d):
        self._d = d
        self.title = d["title"]
        self.analysis = d["analysis"]
        self.scale_name = d["scale_name"]
        self.names = list(d["names"])
        self.scale = d["scale"]
        self.data = d["data"]

    def __getitem__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"signal name must be a str such as 'v(out)', got {_type_name(name)}")
        key = name.replace(" ", "").lower()
        if key in (self.scale_name, "time") and len(self.scale):
            return self.scale
        try:
            return self.data[:, self.names.index(key)]
        except ValueError:
            raise KeyError(f"no signal '{name}' in the {self.analysis}; signals are: "
                           f"{', '.join(self.names)}") from None

    def __contains__(self, name):
        return isinstance(name, str) and name.replace(" ", "").lower() in self.names


class Result(Plot):
    """The result of simulate(): the deck's last analysis (the main one, as `memspice sim` writes
    to CSV), with every analysis in `plots` in deck order."""

    def __init__(self, plots):
        self.plots = [Plot(p) for p in plots]
        super().__init__(plots[-1])

    @property
    def time(self):
        if self.scale_name != "time":
            raise AttributeError(f"the {self.analysis} has no time axis (its scale is "
                                 f"'{self.scale_name or 'none'}')")
        return self.scale

    def to_raw(self, path, ascii=False):
        """Writes every analysis as a SPICE3 raw file (binary unless ascii=True), as ngspice's
        `write`; readable by ngspice's `load`."""
        path = os.fspath(path)
        _memspice.write_raw([p._d for p in self.plots], path, not ascii)
        return path

    def __repr__(self):
        return (f"<memspice.Result {self.analysis}: {len(self.scale)} points, "
                f"{len(self.names)} signals>")


def simulate(deck, method=None, params=None, fixed_step=0.0, include_dirs=()):
    """Runs every analysis of a deck (path or text). method: 'trap', 'be', 'gear2', 'fe' or 'rk4'
    (default: the deck's .options method, else trap). params: .param overrides {name: value}.
    fixed_step > 0: fixed time step in seconds. Returns a Result."""
    source, _ = _deck(deck, params, include_dirs)
    plots = _memspice.simulate(source, _check_str("method", method, True),
                               _check_number("fixed_step", fixed_step))
    return Result(plots)


class Gradient(dict):
    """{parameter: dJ/dp}; `.objective` is J, `.fd` the finite-difference check when asked."""

    def __init__(self, d):
        super().__init__(d["gradient"])
        self.objective = d["objective"]
        self.fd = d["fd"]
        self.method = d["method"]
        self.steps = d["steps"]
        self.warnings = list(d["warnings"])


def grad(deck, objective, wrt, method=None, params=None, fixed_step=0.0, check=False,
         include_dirs=()):
    """Gradient of a transient objective by the discrete adjoint, as `memspice grad`.
    objective: e.g. "integral(v(out)^2)", "final(x(m1))", "mse(v(out), target.csv)".
    wrt: names or globs: .param names, R1, m1:x0, model:param, ic:node. Returns a Gradient."""
    source, _ = _deck(deck, params, include_dirs)
    return Gradient(_memspice.grad(source, _check_str("objective", objective),
                                   _check_str_list("wrt", wrt), _check_str("method", method, True),
                                   _check_number("fixed_step", fixed_step), bool(check)))


def compare(deck, signals=(), rtol=0.01, rms_rtol=0.002, params=None, timeout=600.0,
            include_dirs=()):
    """Runs the deck through memspice and ngspice and compares the waveforms, as
    `memspice compare`. Returns a dict: passed, analyses (per-signal errors), report (text)."""
    source, is_path = _deck(deck, params, include_dirs)
    with tempfile.TemporaryDirectory(prefix="memspice-compare-") as tmp:
        path = deck
        if not is_path:
            path = os.path.join(tmp, "deck.cir")
            with open(path, "w") as f:
                f.write(deck)
        return _memspice.compare(os.fspath(path), source, _check_str_list("signals", signals),
                                 _check_number("rtol", rtol), _check_number("rms_rtol", rms_rtol),
                                 _check_number("timeout", timeout))


class Run:
    """A training run directory: trained conductances (numpy, in x out per crossbar, siemens),
    the per-epoch metrics and the options it was trained with."""

    def __init__(self, run_dir, d):
        self.run_dir = run_dir
        self.g_plus = list(d["g_plus"])
        self.g_minus = list(d["g_minus"])
        self.history = list(d["history"])
        self.config = json.loads(d["config_json"])
        self.finished = d["finished"]
        self.g_min = self.config["g_min"]
        self.g_max = self.config["g_max"]
        self.layer_sizes = self.config["layer_sizes"]

    @property
    def weights(self):
        """Signed weights G+ - G- per crossbar [S]."""
        return [p - m for p, m in zip(self.g_plus, self.g_minus)]

    def conductances(self):
        """Every device conductance (G+ and G- of all crossbars) as one flat array [S]."""
        return np.concatenate([g.ravel() for g in self.g_plus + self.g_minus])

    def __repr__(self):
        acc = self.history[-1]["test_accuracy"] if self.history else float("nan")
        return (f"<memspice.Run {self.run_dir}: {'-'.join(map(str, self.layer_sizes))}, "
                f"{len(self.history)} epochs, test accuracy {100 * acc:.2f} %>")


def load_run(run_dir):
    """Loads a run directory written by train() or `memspice train` (a run that stopped early
    gives the checkpoint's conductances)."""
    run_dir = os.fspath(run_dir) if isinstance(run_dir, os.PathLike) else run_dir
    _check_str("run_dir", run_dir)
    return Run(run_dir, _memspice.load_run(run_dir))


_NET_KEYS = {"layers": list, "steps": int, "period": int, "method": str, "crossbar": str,
             "mapping": str, "input_scale": float, "v_scale": float, "layer_scale": list}
_TRAIN_KEYS = {"epochs": int, "batch_size": int, "lr": float, "optimizer": str, "threads": int,
               "max_batches": int, "max_train": int, "max_test": int, "seed": int,
               "lr_schedule": str, "lr_min": float, "preset": str, "update": str, "device": str}
# The device description's settings (the .model card's programming keys, the rule thresholds and
# the device seed), named by the library.
_DEVICE_KEYS = {key: int if key == "device_seed" else float
                for key in _memspice.device_setting_keys()}


def _check_options(options, allowed, what):
    """Checks keyword options against {name: type}; returns them converted."""
    out = {}
    for key, value in options.items():
        kind = allowed.get(key)
        if kind is None:
            raise TypeError(f"{what}() got an unknown option '{key}'; options are: "
                            f"{', '.join(sorted(allowed))}")
        if kind is int:
            value = _check_int(key, value)
        elif kind is float:
            value = _check_number(key, value)
        elif kind is str:
            value = os.fspath(value) if isinstance(value, os.PathLike) else value
            value = _check_str(key, value)
        else:
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{key} must be a list, got {_type_name(value)}")
            value = [int(v) for v in value] if key == "layers" else [float(v) for v in value]
        out[key] = value
    return out


def _check_data(data, sets=("train_images", "train_labels", "test_images", "test_labels")):
    if not isinstance(data, (tuple, list)) or len(data) != len(sets):
        raise TypeError(f"data must be a tuple ({', '.join(sets)}) of numpy arrays, "
                        f"got {_type_name(data)}")
    out = []
    for what, a in zip(sets, data):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"data's {what} must be a numpy array, got {_type_name(a)}")
        out.append(a)
    return tuple(out)


def train(run_dir, data=None, dataset="fashion-mnist", dataset_path="", resume=False,
          progress=False, **options):
    """MEMprop training (the fast path of `memspice train`), returning the Run.

    data: (train_images, train_labels, test_images, test_labels) numpy arrays, images in [0, 1]
    (N x features or N x rows x cols), labels 0..classes-1; or, without data, a dataset name
    ("fashion-mnist", or "idx" with dataset_path a folder of IDX files).
    preset: 'default' (the best measured recipe) or 'paper' (the MEMprop paper's protocol); the
    other options override it.
    Network options: layers, steps, period, method ('semi-implicit', 'fe', 'be'), crossbar
    ('ideal', 'circuit'), mapping ('differential', 'reference-column'), input_scale, v_scale,
    layer_scale.
    Training options: epochs, batch_size, lr, optimizer ('adam', 'sgd'), lr_schedule ('constant',
    'cosine'), lr_min, threads, max_batches, max_train, max_test, seed.
    Device-aware updates: update ('ideal', 'pulse', 'sign', 'two-pulse', 'write-verify', 'eapu',
    'adaptive'), device (a file with the synapse's `.model NAME mss (...)` card), and the
    settings that override the card: write_sd, read_sd, spread, stuck_on, stuck_off, ... (the
    card's programming keys, in siemens, volts, seconds), eapu_threshold, verify_tolerance,
    device_seed (memspice.device_setting_keys() lists them)."""
    run_dir = os.fspath(run_dir) if isinstance(run_dir, os.PathLike) else run_dir
    _check_str("run_dir", run_dir)
    checked = _check_options(options, {**_NET_KEYS, **_TRAIN_KEYS, **_DEVICE_KEYS}, "train")
    net = {k: v for k, v in checked.items() if k in _NET_KEYS}
    opts = {k: v for k, v in checked.items() if k not in _NET_KEYS}
    opts.update(run_dir=run_dir, resume=bool(resume), progress=bool(progress),
                dataset=_check_str("dataset", dataset),
                dataset_path=os.fspath(dataset_path))
    if data is not None:
        data = _check_data(data)
    _memspice.train(net, opts, data)
    return load_run(run_dir)


def device_setting_keys():
    """The device settings train() and evaluate() take besides `device`."""
    return list(_DEVICE_KEYS)


def evaluate(run_dir, data=None, dataset=None, dataset_path="", noise_seed=None, threads=2,
             max_test=0, **device):
    """Test accuracy of a run directory trained by train() (or `memspice train` without a deck),
    as `memspice eval`: a dict with count, accuracy, loss (mean per sample), spiking_fraction and
    confusion (classes x classes numpy array, rows: true class, columns: predicted).

    data: (test_images, test_labels) numpy arrays; without it the run's dataset (or `dataset`).
    noise_seed: re-evaluate on a fresh array under device noise from this seed (spread, write
    noise, stuck devices, read noise), described by the run's device settings, then `device`
    (a `.model NAME mss` card file), then the settings given (write_sd=..., stuck_on=..., as
    train()'s)."""
    run_dir = os.fspath(run_dir) if isinstance(run_dir, os.PathLike) else run_dir
    _check_str("run_dir", run_dir)
    opts = _check_options(device, {"device": str, **_DEVICE_KEYS}, "evaluate")
    if noise_seed is None and opts:
        raise ValueError(f"{', '.join(sorted(opts))} describe(s) the device noise of "
                         "noise_seed=N; give a seed")
    if noise_seed is not None:
        opts["noise_seed"] = _check_int("noise_seed", noise_seed, minimum=0)
    if dataset is not None:
        opts["dataset"] = _check_str("dataset", dataset)
    if dataset_path:
        opts["dataset_path"] = os.fspath(dataset_path)
    opts.update(threads=_check_int("threads", threads, 1),
                max_test=_check_int("max_test", max_test, 0))
    if data is not None:
        data = _check_data(data, ("test_images", "test_labels"))
    return _memspice.evaluate(run_dir, opts, data)
