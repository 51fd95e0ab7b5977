"""The CUDA bandit kernel (regretlab/bandits/_cupy.py).

Two layers:

* host build (no GPU needed): the kernel's CUDA source compiles as plain C++; ``g++`` builds it into a
  shared library, ctypes drives it through ``_cupy.drive`` (the GPU path's own launch code) with a loop
  over emulated blocks and threads, and the outputs must equal the plain-Python reference bit for bit,
  for every policy and both reward families. Host ``log``/``exp`` are glibc's, as in the reference, so
  here even the transcendental policies must match exactly. Skipped when g++ is missing.
* device (``@pytest.mark.gpu``, skipped without CuPy and a CUDA device): cupy == numba exactly for the
  policies without transcendental functions in their index, and statistically for the others (CUDA's
  ``log`` may differ from glibc's by 1 ulp; see the module docstring).
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from regretlab.bandits import _cupy, reference
from regretlab.bandits import simulate as bandit_simulate
from regretlab.bandits.policies import FAMILIES, POLICIES, policy_params
from regretlab.core import rng
from regretlab.core.backends import cupy_available
from regretlab.core.stats import log_checkpoints

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ not found: cannot build the CUDA source on the host")
requires_gpu = pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA device")

# Test-only host entry points, appended to the kernel source: they call the device functions directly.
_HOST_EXTRAS = r"""
extern "C" void rl_test_uniforms(u64* st, double* out, long long n) {
    for (long long i = 0; i < n; ++i) out[i] = rl_uniform(st);
}
extern "C" void rl_test_normals(u64* st, const double* zx, const double* zf, double* out, long long n) {
    for (long long i = 0; i < n; ++i) out[i] = rl_normal(st, zx, zf);
}
extern "C" void rl_test_gammas(u64* st, double shape, const double* zx, const double* zf, double* out,
                               long long n) {
    double d, c;
    rl_gamma_consts(shape, &d, &c);
    for (long long i = 0; i < n; ++i) out[i] = rl_gamma_dc(st, d, c, zx, zf);
}
extern "C" void rl_test_klucb(const double* p, const double* delta, double* out, long long n) {
    for (long long i = 0; i < n; ++i) out[i] = rl_klucb_bernoulli_index(p[i], delta[i]);
}
"""


class HostKernel:
    """The CUDA source built with g++, launched like the GPU kernel (grid x block loop over threads)."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(str(path))
        self.lib.rl_set_thread.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint]
        self.lib.rl_set_thread.restype = None
        self.lib.simulate_bandit.restype = None

    @staticmethod
    def _arg(a):
        if isinstance(a, np.ndarray):
            assert a.flags.c_contiguous
            return ctypes.c_void_p(a.ctypes.data)
        if isinstance(a, np.int64):
            return ctypes.c_longlong(int(a))
        if isinstance(a, np.float64):
            return ctypes.c_double(float(a))
        raise TypeError(f"unexpected kernel argument {type(a)}")

    def launch(self, grid, args):
        cargs = [self._arg(a) for a in args]
        for b in range(grid):
            for t in range(_cupy.THREADS_PER_BLOCK):
                self.lib.rl_set_thread(b, _cupy.THREADS_PER_BLOCK, t)
                self.lib.simulate_bandit(*cargs)

    def simulate(self, code, pp, fam, sigma, means, horizon, states, ckpt):
        return _cupy.drive(np, self.launch, code, pp, fam, sigma, means, horizon, states, ckpt)


@pytest.fixture(scope="module")
def host_build(tmp_path_factory):
    """Function maxk -> HostKernel, compiled once per bucket."""
    if GXX is None:
        pytest.skip("g++ not found")
    cache = {}
    d = tmp_path_factory.mktemp("rl_cuda_host")

    def get(maxk):
        if maxk not in cache:
            src = d / f"bandit_{maxk}.cpp"
            lib = d / f"bandit_{maxk}.so"
            src.write_text(_cupy.kernel_source(maxk) + _HOST_EXTRAS)
            cmd = [GXX, "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-std=c++17", str(src),
                   "-o", str(lib)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False)
            assert res.returncode == 0, f"g++ failed:\n{res.stderr}"
            cache[maxk] = HostKernel(lib)
        return cache[maxk]

    return get


def _inputs(policy, family, means, horizon, R, seed=7, sigma=1.0, **params):
    fam = FAMILIES[family]
    pp = policy_params(policy, family, **params)
    states = rng.replicate_states(seed, 3, R)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim == 1:
        means = np.ascontiguousarray(np.broadcast_to(means, (R, means.size)))
    ckpt = log_checkpoints(horizon, 12)
    return POLICIES[policy].code, pp, fam, sigma, means, horizon, states, ckpt


def _assert_same(got, want):
    for k in ("regret", "counts", "reward_sum", "greedy_rounds", "last_best"):
        np.testing.assert_array_equal(np.asarray(got[k]), want[k], err_msg=k)
        assert np.asarray(got[k]).dtype == want[k].dtype or k == "reward_sum", k


# policy, family, extra parameters; means chosen to hit ties (greedy, ETC), arms with mean 0 and 1
# (kl-UCB's closed forms) and the ziggurat's wedge/tail (many normals in ts_gauss and Gaussian rewards)
BERN_TIED = [0.2, 0.5, 0.5, 0.45]
BERN_EDGE = [0.0, 0.3, 1.0, 0.6, 0.95]
GAUSS = [0.0, 0.4, 0.5, 0.5]
CASES = [
    ("uniform", "bernoulli", {}),
    ("uniform", "gaussian", {}),
    ("greedy", "bernoulli", {}),
    ("greedy", "gaussian", {}),
    ("eps_greedy", "bernoulli", {"eps": 0.3}),
    ("eps_greedy", "gaussian", {}),
    ("eps_decay", "bernoulli", {}),
    ("eps_decay", "gaussian", {"c": 2.0, "d": 0.3}),
    ("etc", "bernoulli", {"m": 3}),
    ("etc", "gaussian", {}),
    ("ucb1", "bernoulli", {}),
    ("ucb1", "gaussian", {"c": 0.7}),
    ("ucb_k24", "bernoulli", {}),
    ("ucb_k24", "gaussian", {"c": 0.5}),
    ("ucb_c", "bernoulli", {}),
    ("ucb_alpha", "bernoulli", {}),
    ("ucb_alpha", "gaussian", {"alpha": 2.0}),
    ("kl_ucb", "bernoulli", {}),
    ("kl_ucb", "bernoulli", {"c": 3.0}),
    ("kl_ucb", "gaussian", {"c": 3.0}),
    ("ts_beta", "bernoulli", {}),
    ("ts_beta", "bernoulli", {"init_each_arm": 1}),
    ("ts_gauss", "bernoulli", {}),
    ("ts_gauss", "gaussian", {"init_each_arm": 1}),
    ("ts_gauss", "gaussian", {"prior_mean": 0.2, "prior_var": 2.0, "noise": 0.7}),
]


def _case_id(c):
    return f"{c[0]}-{c[1]}" + "".join(f"-{k}{v}" for k, v in c[2].items())


# ---------------------------------------------------------------------------------------------------
# Host build of the CUDA source (no GPU needed)


def test_import_does_not_import_cupy():
    code = ("import sys, regretlab.bandits._cupy as m; m.kernel_source(0); "
            "assert 'cupy' not in sys.modules, 'cupy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_local_capacity_and_chunks(monkeypatch):
    assert _cupy.local_capacity(2) == 8
    assert _cupy.local_capacity(9) == 16
    assert _cupy.local_capacity(64) == 64
    assert _cupy.local_capacity(65) == 0
    assert _cupy.launch_chunk(10**6, 10) == 10**6
    monkeypatch.setattr(_cupy, "SCRATCH_BYTES", _cupy.SCRATCH_ARRAYS * 100 * 8 * 300)
    assert _cupy.launch_chunk(10**6, 100) == 300
    assert _cupy.launch_chunk(50, 100) == 50


def test_kernel_source_constants():
    src = _cupy.kernel_source(16)
    assert "#define RL_MAXK 16\n" in src
    line = next(ln for ln in src.splitlines() if ln.startswith("#define RL_ZIG_R "))
    assert float(line.split()[-1]) == rng.ZIG_R
    assert "fast_math" not in "".join(_cupy.NVRTC_OPTIONS) and "--fmad=false" in _cupy.NVRTC_OPTIONS


@needs_gxx
def test_host_generator_streams_match_pyrandom(host_build):
    """uniform, ziggurat normal (wedge and tail included) and Marsaglia-Tsang gamma: bit for bit."""
    lib = host_build(8).lib
    state = rng.replicate_states(11, 0, 1)[0]
    n = 20_000

    st = state.copy()
    out = np.empty(n)
    lib.rl_test_uniforms(ctypes.c_void_p(st.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                         ctypes.c_longlong(n))
    py = rng.PyRandom(state)
    np.testing.assert_array_equal(out, [py.uniform() for _ in range(n)])
    np.testing.assert_array_equal(st, np.array(py.s, dtype=np.uint64))

    st = state.copy()
    out = np.empty(n)
    lib.rl_test_normals(ctypes.c_void_p(st.ctypes.data), ctypes.c_void_p(rng.ZIG_X.ctypes.data),
                        ctypes.c_void_p(rng.ZIG_F.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                        ctypes.c_longlong(n))
    py = rng.PyRandom(state)
    np.testing.assert_array_equal(out, [py.normal() for _ in range(n)])
    assert np.abs(out).max() > rng.ZIG_R  # the tail branch ran
    np.testing.assert_array_equal(st, np.array(py.s, dtype=np.uint64))

    for shape in (1.0, 1.5, 7.0, 300.0):
        st = state.copy()
        m = 5000
        out = np.empty(m)
        lib.rl_test_gammas(ctypes.c_void_p(st.ctypes.data), ctypes.c_double(shape),
                           ctypes.c_void_p(rng.ZIG_X.ctypes.data), ctypes.c_void_p(rng.ZIG_F.ctypes.data),
                           ctypes.c_void_p(out.ctypes.data), ctypes.c_longlong(m))
        py = rng.PyRandom(state)
        np.testing.assert_array_equal(out, [py.gamma(shape) for _ in range(m)], err_msg=f"shape {shape}")


@needs_gxx
def test_host_klucb_index_matches_reference(host_build):
    lib = host_build(8).lib
    g = np.random.default_rng(5)
    p = np.concatenate([[0.0, 1.0, 0.5, 0.999999, 1e-9], g.random(500)])
    delta = np.concatenate([[0.3, 0.3, 0.0, 2.0, 5.0], g.exponential(0.5, 500)])
    out = np.empty(p.size)
    lib.rl_test_klucb(ctypes.c_void_p(p.ctypes.data), ctypes.c_void_p(delta.ctypes.data),
                      ctypes.c_void_p(out.ctypes.data), ctypes.c_longlong(p.size))
    np.testing.assert_array_equal(out, [reference.klucb_bernoulli_index(a, b) for a, b in zip(p, delta)])


@needs_gxx
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_host_build_matches_reference(host_build, case):
    policy, family, params = case
    for means in ([BERN_TIED, BERN_EDGE] if family == "bernoulli" else [GAUSS]):
        sigma = 0.8 if family == "gaussian" else 1.0
        args = _inputs(policy, family, means, 400, 6, sigma=sigma, **params)
        want = reference.simulate(*args)
        got = host_build(_cupy.local_capacity(len(means))).simulate(*args)
        _assert_same(got, want)


@needs_gxx
@pytest.mark.parametrize("policy", ["greedy", "ucb1", "ts_beta", "ts_gauss"])
def test_host_global_scratch_matches_reference(host_build, policy, monkeypatch):
    """RL_MAXK = 0 (global (10, K, R) scratch), several chunks, per-replicate means (R, K)."""
    monkeypatch.setattr(_cupy, "SCRATCH_BYTES", _cupy.SCRATCH_ARRAYS * 5 * 8 * 3)  # 3 replicates per chunk
    monkeypatch.setattr(_cupy, "local_capacity", lambda K: 0)
    R, K = 8, 5
    means = np.random.default_rng(1).random((R, K))
    args = _inputs(policy, "bernoulli", means, 300, R)
    assert _cupy.launch_chunk(R, K) == 3
    _assert_same(host_build(0).simulate(*args), reference.simulate(*args))


@needs_gxx
def test_host_many_arms_matches_reference(host_build):
    """K = 70 > 64: the kernel picks global scratch by itself."""
    K = 70
    means = np.linspace(0.05, 0.95, K)
    assert _cupy.local_capacity(K) == 0
    for policy in ("eps_greedy", "ucb1"):
        args = _inputs(policy, "bernoulli", means, 200, 3)
        _assert_same(host_build(0).simulate(*args), reference.simulate(*args))


# ---------------------------------------------------------------------------------------------------
# Device: CuPy vs Numba

EXACT_POLICIES = [("uniform", {}), ("greedy", {}), ("eps_greedy", {"eps": 0.2}), ("eps_decay", {}),
                  ("etc", {"m": 5})]
TRANSCENDENTAL = [("ucb1", "bernoulli"), ("ucb_k24", "bernoulli"), ("ucb_c", "bernoulli"), ("ucb_alpha", "bernoulli"),
                  ("kl_ucb", "bernoulli"), ("kl_ucb", "gaussian"),
                  ("ts_beta", "bernoulli"), ("ts_gauss", "gaussian")]


def _run_both(means, policy, horizon, replicates, family="bernoulli", sigma=1.0, seed=3, **params):
    kw = {"policy": policy, "horizon": horizon, "replicates": replicates, "family": family, "sigma": sigma,
          "seed": seed, **params}
    return bandit_simulate(means, backend="cupy", **kw), bandit_simulate(means, backend="numba", **kw)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("family", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("policy,params", EXACT_POLICIES, ids=[p for p, _ in EXACT_POLICIES])
def test_gpu_exact_policies_match_numba(policy, params, family):
    means = [0.2, 0.5, 0.5, 0.45, 0.1] if family == "bernoulli" else [0.0, 0.4, 0.5, 0.5, -0.3]
    g, c = _run_both(means, policy, 3000, 300, family=family, **params)
    for k in ("t", "regret", "final_regret", "counts", "greedy_frac", "last_best", "best_frac"):
        np.testing.assert_array_equal(g[k], c[k], err_msg=k)
    if family == "bernoulli":
        np.testing.assert_array_equal(g["reward_mean"], c["reward_mean"])
    else:  # a tail normal goes through log: 1 ulp per draw at most
        np.testing.assert_allclose(g["reward_mean"], c["reward_mean"], rtol=1e-12, atol=1e-14)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("policy,family", TRANSCENDENTAL)
def test_gpu_transcendental_policies_mostly_identical(policy, family):
    means = [0.3, 0.5, 0.45, 0.2] if family == "bernoulli" else [0.0, 0.5, 0.4, 0.2]
    g, c = _run_both(means, policy, 2000, 200, family=family)
    same = np.mean(g["final_regret"] == c["final_regret"])
    print(f"{policy}/{family}: identical final regret in {same:.3f} of replicates")
    assert same >= 0.9


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("policy,family", TRANSCENDENTAL)
def test_gpu_transcendental_policies_same_mean(policy, family):
    means = [0.3, 0.5, 0.45, 0.2] if family == "bernoulli" else [0.0, 0.5, 0.4, 0.2]
    g, c = _run_both(means, policy, 1000, 2000, family=family, seed=11)
    a, b = g["final_regret"], c["final_regret"]
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert abs(a.mean() - b.mean()) <= 4 * se + 1e-12


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("policy", ["greedy", "eps_greedy"])
def test_gpu_global_scratch_and_chunks_match_numba(policy, monkeypatch):
    """K = 80 (> 64: global scratch), launched in several chunks."""
    K, R = 80, 700
    monkeypatch.setattr(_cupy, "SCRATCH_BYTES", _cupy.SCRATCH_ARRAYS * K * 8 * 256)
    assert _cupy.launch_chunk(R, K) == 256
    means = np.linspace(0.1, 0.9, K)
    means[10] = means[-1]  # a tie for the best arm
    g, c = _run_both(means, policy, 1500, R)
    for k in ("regret", "counts", "reward_mean", "greedy_frac", "last_best"):
        np.testing.assert_array_equal(g[k], c[k], err_msg=k)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("K", [2, 12, 40])
def test_gpu_bucket_sizes_match_numba(K):
    means = np.linspace(0.1, 0.9, K)
    g, c = _run_both(means, "eps_greedy", 1000, 260)
    for k in ("regret", "counts", "reward_mean", "greedy_frac", "last_best"):
        np.testing.assert_array_equal(g[k], c[k], err_msg=k)


@pytest.mark.gpu
@requires_gpu
def test_gpu_per_replicate_means_and_explicit_states():
    R, K = 300, 6
    means = np.random.default_rng(2).random((R, K))
    states = rng.replicate_states(5, 1, R)
    kw = {"policy": "greedy", "horizon": 800, "states": states}
    g = bandit_simulate(means, backend="cupy", **kw)
    c = bandit_simulate(means, backend="numba", **kw)
    np.testing.assert_array_equal(g["regret"], c["regret"])
    np.testing.assert_array_equal(g["counts"], c["counts"])


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("policy", ["ucb1", "ts_beta"])
def test_gpu_throughput_smoke(policy):
    """Prints pulls per second (no timing assertion); the first call compiles and is not timed."""
    cp = pytest.importorskip("cupy")
    means = np.linspace(0.1, 0.9, 10)
    R, T = 20_000, 2_000
    args = _inputs(policy, "bernoulli", means, T, R, seed=1)
    _cupy.simulate(*_inputs(policy, "bernoulli", means, 10, 128, seed=1))  # warm-up (compile)
    cp.cuda.Stream.null.synchronize()
    t0 = time.perf_counter()
    out = _cupy.simulate(*args)
    cp.cuda.Stream.null.synchronize()
    dt = time.perf_counter() - t0
    print(f"\n{policy}: K=10 T={T} R={R}: {R * T / dt:.3e} pulls/s on the GPU ({dt:.3f} s)")
    assert out["counts"].sum() == R * T
