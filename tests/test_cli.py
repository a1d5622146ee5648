"""The command line (python -m fastnn): info, demo delegation, bench with JSON/plot, bad arguments.

Every run is a subprocess of the in-tree package; bench runs are kept tiny with the hidden
--max-time option (seconds per case) and --repeat."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FASTNN_HOME

ROOT = Path(__file__).resolve().parents[1]


def fastnn_cli(*args, env=None, timeout=120):
    e = dict(os.environ)
    e["PYTHONPATH"] = str(FASTNN_HOME) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "fastnn", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout)


def test_info_prints_config_and_pools():
    r = fastnn_cli("info")
    assert r.returncode == 0, r.stderr
    for word in ("fastnn", "numpy", "blas", "openmp", "num_threads", "compile_flags", "threadpoolctl"):
        assert word in r.stdout, word
    assert "scipy_openblas32" in r.stdout          # fastnn's OpenBLAS, as threadpoolctl sees it


def test_help_for_each_command():
    for args in (["--help"], ["info", "--help"], ["bench", "--help"]):
        r = fastnn_cli(*args)
        assert r.returncode == 0 and "usage" in r.stdout, args


def test_bench_quick_one_family_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = fastnn_cli("bench", "--quick", "--family", "linear", "--impl", "compiled,reference",
                   "--repeat", "3", "--max-time", "0.03", "--threads", "1", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OPENBLAS_THREAD_TIMEOUT=4" in r.stdout     # the quiet-pools child ran
    doc = json.loads(out.read_text())
    assert set(doc) == {"environment", "settings", "peaks", "results", "summary"}
    assert doc["peaks"] is None                          # measured only with --roofline
    env = doc["environment"]
    assert env["threads"]["fastnn"] == 1 and env["cpu_count"] >= 1 and env["numpy"]
    assert env["quiet_pools_child"] is True
    assert "default" in env["malloc"] or "tuned" in env["malloc"]
    assert doc["results"] and all(r["family"] == "linear" and r["quick"] for r in doc["results"])
    for res in doc["results"]:
        assert set(res["impls"]) == {"compiled", "reference"}
        for st in res["impls"].values():
            assert 0 < st["q25_s"] <= st["median_s"] <= st["q75_s"] and st["rounds"] >= 3
        assert res["speedup"]["reference"] > 0
    assert "linear_forward" in r.stdout and "x vs reference" in r.stdout


def test_bench_list_and_plot(tmp_path):
    r = fastnn_cli("bench", "--full", "--family", "linear", "--list")
    assert r.returncode == 0 and "linear_forward relu 1024x784->256" in r.stdout
    if importlib.util.find_spec("matplotlib") is None:
        r = fastnn_cli("bench", "--family", "linear", "--plot", str(tmp_path / "p.png"))
        assert r.returncode == 1 and "matplotlib" in r.stderr
        return
    png = tmp_path / "scaling.png"
    r = fastnn_cli("bench", "--full", "--family", "linear", "--impl", "compiled", "--repeat", "3",
                   "--max-time", "0.02", "--no-quiet-pools", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "scaling plots" in r.stdout


def test_scaling_groups_vary_one_param():
    from fastnn.bench.run import scaling_groups
    mk = lambda name, params: {"family": "f", "name": name, "params": params, "impls": {"compiled": {}}}
    res = [mk("op 16x8", {"N": 16, "C": 8}), mk("op 32x8", {"N": 32, "C": 8}),
           mk("op 16x4", {"N": 16, "C": 4}), mk("other 16x8", {"N": 16, "C": 8})]
    groups = {(p, tuple(v for v, _ in pts)) for _, p, pts in scaling_groups(res)}
    assert groups == {("N", (16, 32)), ("C", (4, 8))}
    titles = {title for title, _, _ in scaling_groups(res)}
    assert titles == {"op Nx8", "op 16xC"}                # the varying number, named; no dots
    res = [mk("lstm T=10 H=128", {"T": 10, "H": 128}), mk("lstm T=50 H=128", {"T": 50, "H": 128})]
    assert [t for t, _, _ in scaling_groups(res)] == ["lstm T H=128"]


@pytest.mark.parametrize("args,code,needle", [
    (["bench", "--family", "no_such_family"], 2, "unknown family"),
    (["bench", "--impl", "fortran"], 2, "unknown implementation"),
    (["bench", "--threads", "0"], 2, "positive integer"),
    (["bench", "--repeat", "x"], 2, "positive integer"),
    (["bench", "--quick", "--full"], 2, "not allowed"),
    (["frobnicate"], 2, "invalid choice"),
    ([], 2, "required"),
])
def test_bad_arguments_exit_nonzero_with_message(args, code, needle):
    r = fastnn_cli(*args)
    assert r.returncode == code, (r.returncode, r.stderr)
    assert needle in r.stderr


def test_demo_delegates_or_explains():
    have_demo = importlib.util.find_spec("fastnn.demo") is not None
    r = fastnn_cli("demo", "--help")
    if have_demo:
        assert r.returncode == 0 or "usage" in (r.stdout + r.stderr).lower()
    else:
        assert r.returncode == 1 and "fastnn.demo" in r.stderr


def test_main_in_process(capsys):
    from fastnn.__main__ import main
    assert main(["info"]) == 0
    assert "threadpoolctl" in capsys.readouterr().out


def test_bench_notes_openblas_coretype_without_unsetting_it(tmp_path):
    out = tmp_path / "b.json"
    r = fastnn_cli("bench", "--family", "linear", "--impl", "compiled", "--repeat", "3",
                   "--max-time", "0.01", "--no-quiet-pools", "--json", str(out),
                   env={"OPENBLAS_CORETYPE": "Haswell"})
    assert r.returncode == 0, r.stderr
    assert "env -u OPENBLAS_CORETYPE" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["environment"]["env"]["OPENBLAS_CORETYPE"] == "Haswell"   # left as it was
    assert doc["environment"]["quiet_pools_child"] is False


def test_bench_thread_scaling_and_python_threads(tmp_path):
    """--thread-scaling times fastnn at one thread beside the current count (the x vs
    compiled-1t column); the threads family runs 4 jobs on 4 Python threads vs serially."""
    out = tmp_path / "bench.json"
    r = fastnn_cli("bench", "--family", "threads", "--thread-scaling", "--threads", "2",
                   "--repeat", "3", "--max-time", "0.05", "--no-quiet-pools", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "x vs compiled-1t" in r.stdout and "x vs serial" in r.stdout
    assert "thread scaling:" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["results"] and all(res["family"] == "threads" for res in doc["results"])
    for res in doc["results"]:
        assert set(res["impls"]) == {"compiled", "compiled-1t", "serial"}, res
    assert doc["environment"]["threads"]["fastnn"] == 2      # restored after each 1-thread sample


def test_select_cases_thread_scaling_adds_one_thread_impl():
    from fastnn.bench import all_cases
    from fastnn.bench.run import ONE_THREAD, select_cases
    _, impls = select_cases(all_cases(), ["linear"], ["reference"], thread_scaling=True)
    assert impls == ["compiled", ONE_THREAD, "reference"]
    _, impls = select_cases(all_cases(), ["linear"], thread_scaling=False)
    assert ONE_THREAD not in impls


def test_bench_roofline_bounds_each_case_by_its_flops(tmp_path):
    """--roofline measures the GEMM rate and bounds every case that states its FLOPs:
    bound = flops / flop_s, of_bound = bound / median."""
    out = tmp_path / "bench.json"
    r = fastnn_cli("bench", "--family", "rnn,softmax", "--impl", "compiled", "--roofline",
                   "--repeat", "3", "--max-time", "0.05", "--no-quiet-pools", "--json", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "roofline:" in r.stdout and "of bound" in r.stdout
    doc = json.loads(out.read_text())
    peaks = doc["peaks"]
    assert peaks["flop_s"] > 1e8 and peaks["threads"] >= 1
    by_name = {res["name"]: res for res in doc["results"]}
    lstm = by_name["lstm_forward T=50 N=32 D=64 H=128"]
    assert lstm["flops"] == 2.0 * 50 * 32 * 4 * 128 * (64 + 128)
    assert lstm["roofline"]["bound_s"] == pytest.approx(lstm["flops"] / peaks["flop_s"])
    med = lstm["impls"]["compiled"]["median_s"]
    assert lstm["roofline"]["of_bound"] == pytest.approx(lstm["roofline"]["bound_s"] / med)
    assert lstm["roofline"]["rate"] == pytest.approx(lstm["flops"] / med)
    assert "roofline" not in by_name["softmax_forward 4096x1000 axis=-1"]     # states no FLOPs


def test_add_roofline_and_its_table():
    from fastnn.bench.run import add_roofline, format_roofline
    peaks = {"flop_s": 1e11, "threads": 2}
    mk = lambda flops, impls: {"name": "c", "flops": flops, "impls": impls}
    res = [mk(1e8, {"compiled": {"median_s": 2e-3}}), mk(0.0, {"compiled": {"median_s": 1e-3}}),
           mk(1e8, {})]
    add_roofline(res, peaks)
    assert res[0]["roofline"] == pytest.approx({"bound_s": 1e-3, "rate": 5e10, "of_bound": 0.5})
    assert "roofline" not in res[1] and "roofline" not in res[2]   # no FLOPs stated / not timed
    table = format_roofline(res, peaks)
    assert "100 GFLOP/s" in table and "50 GFLOP/s" in table and "50%" in table
    assert "nothing to bound" in format_roofline(res[1:], peaks)


def test_cases_state_their_flops():
    """The FLOP counts of a few cases, written out: the roofline is only as right as these."""
    from fastnn.bench import all_cases
    flops = {c.name: c.flops for c in all_cases()}
    assert flops["linear_forward relu 64x784->256"] == 2.0 * 64 * 784 * 256
    assert flops["linear fwd+bwd relu 64x784->256"] == 3 * 2.0 * 64 * 784 * 256
    assert flops["mlp train step 784-256-10 batch 64"] == 2.0 * 64 * (2 * 784 * 256 + 3 * 256 * 10)
    assert flops["conv2d_forward 64x32x14x14 ->64 k3p1"] == 2.0 * 64 * 64 * 32 * 9 * 14 * 14
    assert flops["conv2d_backward 8x64x56x56 ->64 k3p1"] == 2 * 2.0 * 8 * 64 * 64 * 9 * 56 * 56
    assert flops["rnn(tanh)_backward T=50 N=32 D=64 H=128"] == 2 * 2.0 * 50 * 32 * 128 * (64 + 128)
    assert flops["gru_forward T=50 N=32 D=64 H=128"] == 2.0 * 50 * 32 * 3 * 128 * (64 + 128)
    assert flops["rnn(tanh)_backward T=50 N=32 D=64 H=128 truncate=5"] == 0.0
    assert flops["softmax_forward 4096x1000 axis=-1"] == 0.0
