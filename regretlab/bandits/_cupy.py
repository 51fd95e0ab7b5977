"""CUDA twin of the bandit kernel (:mod:`regretlab.bandits._kernels`), run through ``cupy.RawKernel``.

One GPU thread runs one replicate, exactly as one ``prange`` iteration of the Numba kernel does. The CUDA
C source below (:data:`CUDA_SOURCE`) mirrors ``_kernels.py`` and ``regretlab.core.rng`` function for
function: xoshiro256** on ``unsigned long long``, doubles from the top 53 bits, the 256-layer ziggurat
with the tables ``ZIG_X``/``ZIG_F`` of :mod:`regretlab.core.rng` (fast path, then the wedge/tail loop of
``_normal_slow``), Marsaglia-Tsang gammas from per-arm cached ``(d, c)`` constants, reservoir
tie-breaking, the same order of draws, the same checkpoint recording and the same outputs. All
arithmetic is in double precision with the expression order of the Numba kernel.

Exactness. The source is compiled by NVRTC with ``--fmad=false``: by default NVRTC contracts ``a * b + c``
into one fused multiply-add, whose single rounding differs from the two roundings of the CPU, so without
that flag even UCB1's index would differ in the last bit. ``-use_fast_math`` is never used. Division
and ``sqrt`` are IEEE correctly rounded on the GPU as on the CPU. CUDA's ``log``, ``log1p``, ``exp`` and
``expm1``, however, are accurate to 1 ulp and may differ from glibc's (which the Numba kernel and the
plain-Python reference call) by 1 ulp on some inputs. Consequences:

- policies without transcendental functions in their index (uniform, greedy, eps_greedy, eps_decay,
  etc) make exactly the same choices as the CPU backends, with Bernoulli and Gaussian rewards;
- ucb1 and kl_ucb (``log`` in the index), ts_beta (``log`` in the gamma rejection step) and ts_gauss
  can choose differently in rare near-ties, after which that replicate's trajectory diverges (it stays a
  correct sample of the same process, so means agree statistically);
- a Gaussian reward drawn from the ziggurat's tail (``log``) can differ by 1 ulp, so ``reward_sum`` of
  Gaussian runs agrees to rounding rather than bit for bit.

The same source also compiles as plain host C++ (the CUDA qualifiers are macros; a small shim emulates
``blockIdx``/``threadIdx``), which is how ``tests/bandits/test_cupy.py`` checks the port against the
plain-Python reference without a GPU: it builds :func:`kernel_source` with ``g++`` and drives it through
:func:`drive`, the same launch code the GPU path uses.

Per-arm scratch (counts, sums, means, indices, gaps, ``1/sqrt(n)``, four gamma constants) lives in
per-thread local arrays sized by a compile-time bucket ``RL_MAXK`` in :data:`LOCAL_BUCKETS` (one compiled
kernel per bucket, built lazily and cached per process). For K above the largest bucket the kernel uses
global scratch laid out ``(10, K, R)`` (arm-major, so the threads of a warp touch consecutive addresses),
and replicates are launched in chunks so that scratch stays below :data:`SCRATCH_BYTES`.

CuPy is imported only inside functions, through :func:`regretlab.core.backends.get_cupy`.
"""
from __future__ import annotations

import functools

import numpy as np

from regretlab.core.rng import ZIG_F, ZIG_R, ZIG_X

from . import policies as _p

__all__ = [
    "CUDA_SOURCE",
    "LOCAL_BUCKETS",
    "NVRTC_OPTIONS",
    "SCRATCH_ARRAYS",
    "SCRATCH_BYTES",
    "THREADS_PER_BLOCK",
    "drive",
    "kernel_source",
    "launch_chunk",
    "local_capacity",
    "simulate",
]

THREADS_PER_BLOCK = 128
LOCAL_BUCKETS = (8, 16, 32, 64)  # per-thread local arrays of this many arms; above 64, global scratch
SCRATCH_ARRAYS = 10  # n, s, mean, idx, gaps, rsn, and the gamma constants (d_a, c_a, d_b, c_b)
SCRATCH_BYTES = 1 << 30  # upper bound on the global scratch of one launch (K > max(LOCAL_BUCKETS))
NVRTC_OPTIONS = ("--fmad=false",)

CUDA_SOURCE = r"""
// regretlab: CUDA twin of regretlab/bandits/_kernels.py (and of the generator in regretlab/core/rng.py).
// Also compiles as host C++ (g++), where a shim emulates blockIdx/threadIdx, for CPU tests.
#ifndef RL_MAXK
#define RL_MAXK 0
#endif

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define RL_DEV __device__ __forceinline__
#define RL_DEV_NOINLINE __device__ __noinline__
#define RL_KERNEL extern "C" __global__
#define RL_RESTRICT __restrict__
#define RL_NEG_INF (__longlong_as_double((long long)0xfff0000000000000ULL))
#else
#include <math.h>
#define RL_DEV inline
#define RL_DEV_NOINLINE
#define RL_KERNEL extern "C"
#define RL_RESTRICT __restrict__
#define RL_NEG_INF (-HUGE_VAL)
struct rl_dim3 { unsigned int x, y, z; };
static rl_dim3 blockIdx = {0, 0, 0}, threadIdx = {0, 0, 0}, blockDim = {1, 1, 1};
// host emulation of the launch: the caller sets the (block, thread) coordinates, then calls the kernel
extern "C" void rl_set_thread(unsigned int block, unsigned int block_dim, unsigned int thread) {
    blockIdx.x = block; blockDim.x = block_dim; threadIdx.x = thread;
}
#endif

#define RL_TWO_M53 0x1.0p-53

typedef unsigned long long u64;

// strided view of one per-arm scratch vector: local array (stride 1) or global (K, R) column (stride R)
struct rl_arr {
    double* p;
    long long stride;
    RL_DEV double& operator[](long long a) const { return p[a * stride]; }
};

// ---------------------------------------------------------------- generator (regretlab/core/rng.py)

RL_DEV u64 rl_rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }

RL_DEV u64 rl_next_u64(u64* st) {
    u64 s0 = st[0];
    u64 s1 = st[1];
    u64 s2 = st[2];
    u64 s3 = st[3];
    const u64 result = rl_rotl(s1 * 5ULL, 7) * 9ULL;
    const u64 t = s1 << 17;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rl_rotl(s3, 45);
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
    return result;
}

RL_DEV double rl_uniform(u64* st) { return (double)(rl_next_u64(st) >> 11) * RL_TWO_M53; }

RL_DEV double rl_uniform_open(u64* st) { return 1.0 - rl_uniform(st); }

RL_DEV long long rl_randint(u64* st, long long n) { return (long long)(rl_uniform(st) * (double)n); }

RL_DEV double rl_normal_slow(u64* st, const double* RL_RESTRICT zx, const double* RL_RESTRICT zf,
                             int i, double u, double x) {
    while (true) {
        if (i == 0) {
            // tail beyond ZIG_R (Marsaglia 1964)
            double xt = 1.0;
            double yt = 0.0;
            while (-2.0 * yt < xt * xt) {
                xt = log(rl_uniform_open(st)) / RL_ZIG_R;
                yt = log(rl_uniform_open(st));
            }
            return u < 0.0 ? xt - RL_ZIG_R : RL_ZIG_R - xt;
        }
        if (zf[i + 1] + (zf[i] - zf[i + 1]) * rl_uniform(st) < exp(-0.5 * x * x)) {
            return x;
        }
        const u64 bits = rl_next_u64(st);
        i = (int)(bits & 255ULL);
        u = 2.0 * ((double)(bits >> 11) * RL_TWO_M53) - 1.0;
        x = u * zx[i];
        if (fabs(x) < zx[i + 1]) {
            return x;
        }
    }
}

RL_DEV double rl_normal(u64* st, const double* RL_RESTRICT zx, const double* RL_RESTRICT zf) {
    const u64 bits = rl_next_u64(st);
    const int i = (int)(bits & 255ULL);
    const double u = 2.0 * ((double)(bits >> 11) * RL_TWO_M53) - 1.0;
    const double x = u * zx[i];
    if (fabs(x) < zx[i + 1]) {
        return x;
    }
    return rl_normal_slow(st, zx, zf, i, u, x);
}

RL_DEV void rl_gamma_consts(double shape, double* d, double* c) {
    *d = shape - 1.0 / 3.0;
    *c = 1.0 / sqrt(9.0 * *d);
}

RL_DEV double rl_gamma_dc(u64* st, double d, double c, const double* RL_RESTRICT zx,
                          const double* RL_RESTRICT zf) {
    while (true) {
        const double x = rl_normal(st, zx, zf);
        double v = 1.0 + c * x;
        if (v <= 0.0) {
            continue;
        }
        v = v * v * v;
        const double u = rl_uniform_open(st);
        const double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2) {
            return d * v;
        }
        if (log(u) < 0.5 * x2 + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

// ---------------------------------------------------------------- kernel helpers (_kernels.py)

RL_DEV long long rl_argmax_random(rl_arr values, long long K, u64* st) {
    double best = RL_NEG_INF;
    long long arm = -1;
    long long cnt = 0;
    for (long long a = 0; a < K; ++a) {
        const double v = values[a];
        if (v > best) {
            best = v;
            arm = a;
            cnt = 1;
        } else if (v == best) {
            cnt += 1;
            if (rl_uniform(st) * (double)cnt < 1.0) {
                arm = a;
            }
        }
    }
    return arm;
}

RL_DEV long long rl_first_untried(rl_arr n, long long K) {
    for (long long a = 0; a < K; ++a) {
        if (n[a] == 0.0) {
            return a;
        }
    }
    return -1;
}

RL_DEV double rl_kl_bernoulli(double p, double q) {
    double out = 0.0;
    if (p > 0.0) {
        out += p * log(p / q);
    }
    if (p < 1.0) {
        out += (1.0 - p) * log((1.0 - p) / (1.0 - q));
    }
    return out;
}

// max{q in [p, 1] : kl(p, q) <= delta}: monotone Newton in x = -ln(1 - q), as in _kernels.py
RL_DEV_NOINLINE double rl_klucb_bernoulli_index(double p, double delta) {
    if (delta <= 0.0) {
        return p;
    }
    if (p >= 1.0) {
        return 1.0;
    }
    if (p <= 0.0) {
        return -expm1(-delta);  // kl(0, q) = -ln(1 - q): closed form
    }
    const double ent = -(p * log(p) + (1.0 - p) * log1p(-p));
    double x = (delta + ent) / (1.0 - p);
    const double qp = p + sqrt(0.5 * delta);
    if (qp < 1.0) {
        const double xp = -log1p(-qp);
        if (xp < x) {
            x = xp;
        }
    }
    const double lp = log1p(-p);
    for (int it = 0; it < 100; ++it) {
        const double q = -expm1(-x);
        const double h = p * log(p / q) + (1.0 - p) * (lp + x) - delta;
        const double step = h * q / (q - p);
        x -= step;
        if (step < 1e-12 * x) {
            break;
        }
    }
    return -expm1(-x);
}

// One replicate (_kernels._run_one). Writes its checkpointed regret row and counts row; returns
// (reward_sum, greedy_rounds, last_best) through the last three pointers.
RL_DEV void rl_run_one(long long policy, const double* RL_RESTRICT pp, long long family, double sigma,
                       const double* RL_RESTRICT mu, long long K, long long horizon, u64* st,
                       const long long* RL_RESTRICT ckpt, long long nck,
                       const double* RL_RESTRICT zx, const double* RL_RESTRICT zf,
                       double* RL_RESTRICT out_regret, long long* RL_RESTRICT out_counts,
                       rl_arr n, rl_arr s, rl_arr mean, rl_arr idx, rl_arr gaps, rl_arr rsn,
                       rl_arr ga0, rl_arr ga1, rl_arr ga2, rl_arr ga3,
                       double* reward_sum_out, long long* greedy_out, long long* last_best_out) {
    const double pp0 = pp[0];
    const double pp1 = pp[1];
    const double pp2 = pp[2];
    const double pp3 = pp[3];
    double mu_star = RL_NEG_INF;
    for (long long a = 0; a < K; ++a) {
        if (mu[a] > mu_star) {
            mu_star = mu[a];
        }
    }
    double d1, c1;
    rl_gamma_consts(1.0, &d1, &c1);
    for (long long a = 0; a < K; ++a) {
        gaps[a] = mu_star - mu[a];
        n[a] = 0.0;
        s[a] = 0.0;
        mean[a] = 0.0;
        rsn[a] = 0.0;
        ga0[a] = d1;
        ga1[a] = c1;
        ga2[a] = d1;
        ga3[a] = c1;
    }
    long long untried = K;
    double regret = 0.0;
    double reward_sum = 0.0;
    long long greedy_rounds = 0;
    long long last_best = 0;
    long long commit = -1;
    long long ci = 0;
    for (long long t = 1; t <= horizon; ++t) {
        long long arm;
        // 1. choose
        if (policy == RL_UNIFORM) {
            arm = rl_randint(st, K);
        } else if (policy == RL_GREEDY || policy == RL_EPS_GREEDY || policy == RL_EPS_DECAY) {
            double eps = 0.0;
            if (policy == RL_EPS_GREEDY) {
                eps = pp0;
            } else if (policy == RL_EPS_DECAY) {
                const double e = pp0 * (double)K / (pp1 * pp1 * (double)t);
                eps = e < 1.0 ? e : 1.0;  // min(1.0, e)
            }
            if (policy != RL_GREEDY && rl_uniform(st) < eps) {
                arm = rl_randint(st, K);
            } else if (untried > 0) {
                arm = rl_first_untried(n, K);
            } else {
                arm = rl_argmax_random(mean, K, st);
            }
        } else if (policy == RL_ETC) {
            const long long m = (long long)pp0;
            if (t <= m * K) {
                arm = (t - 1) % K;
            } else {
                if (commit < 0) {
                    commit = rl_argmax_random(mean, K, st);
                }
                arm = commit;
            }
        } else if (policy == RL_UCB1 || policy == RL_UCB_K24 || policy == RL_UCB_C || policy == RL_UCB_ALPHA) {
            if (untried > 0) {
                arm = rl_first_untried(n, K);
            } else {
                const double sc = policy == RL_UCB1 ? pp0 * sqrt(2.0 * log((double)(t - 1)))
                                : policy == RL_UCB_C ? pp0 * sqrt(log((double)t))
                                : policy == RL_UCB_ALPHA ? sqrt(pp0 * log((double)(t - 1))) : sqrt(pp0);
                for (long long a = 0; a < K; ++a) {
                    idx[a] = mean[a] + sc * rsn[a];
                }
                arm = rl_argmax_random(idx, K, st);
            }
        } else if (policy == RL_KL_UCB) {
            if (untried > 0) {
                arm = rl_first_untried(n, K);
            } else {
                const double lt = log((double)(t - 1));
                const double rhs = pp0 != 0.0 ? lt + pp0 * log(lt) : lt;
                if (family == RL_BERNOULLI) {
                    for (long long a = 0; a < K; ++a) {
                        idx[a] = rl_klucb_bernoulli_index(mean[a], rhs / n[a]);
                    }
                } else {
                    for (long long a = 0; a < K; ++a) {
                        idx[a] = mean[a] + sigma * sqrt(fmax(2.0 * rhs / n[a], 0.0));
                    }
                }
                arm = rl_argmax_random(idx, K, st);
            }
        } else if (((policy == RL_TS_BETA && pp0 != 0.0) || (policy == RL_TS_GAUSS && pp3 != 0.0)) && untried > 0) {
            arm = rl_first_untried(n, K);  // init_each_arm
        } else if (policy == RL_TS_BETA) {
            for (long long a = 0; a < K; ++a) {
                const double x = rl_gamma_dc(st, ga0[a], ga1[a], zx, zf);
                const double y = rl_gamma_dc(st, ga2[a], ga3[a], zx, zf);
                idx[a] = x / (x + y);
            }
            arm = rl_argmax_random(idx, K, st);
        } else {  // RL_TS_GAUSS
            const double prior_mean = pp0;
            const double prior_var = pp1;
            const double noise_var = pp2 * pp2;
            for (long long a = 0; a < K; ++a) {
                const double prec = 1.0 / prior_var + n[a] / noise_var;
                const double v = 1.0 / prec;
                const double m = v * (prior_mean / prior_var + s[a] / noise_var);
                const double sv = sqrt(v);
                idx[a] = m + sv * rl_normal(st, zx, zf);
            }
            arm = rl_argmax_random(idx, K, st);
        }

        // 2. exploration statistics (history before the pull; untried arms count as +inf)
        if (untried > 0) {
            if (n[arm] == 0.0) {
                greedy_rounds += 1;
            }
        } else {
            double mx = mean[0];
            for (long long a = 1; a < K; ++a) {
                if (mean[a] > mx) {
                    mx = mean[a];
                }
            }
            if (mean[arm] == mx) {
                greedy_rounds += 1;
            }
        }
        if (gaps[arm] == 0.0) {
            last_best = t;
        }

        // 3. reward
        double y;
        if (family == RL_BERNOULLI) {
            y = rl_uniform(st) < mu[arm] ? 1.0 : 0.0;
        } else {
            y = mu[arm] + sigma * rl_normal(st, zx, zf);
        }

        // 4. update and record
        if (n[arm] == 0.0) {
            untried -= 1;
        }
        n[arm] += 1.0;
        s[arm] += y;
        mean[arm] = s[arm] / n[arm];
        rsn[arm] = sqrt(1.0 / n[arm]);
        if (policy == RL_TS_BETA) {
            double d, c;
            rl_gamma_consts(1.0 + s[arm], &d, &c);
            ga0[arm] = d;
            ga1[arm] = c;
            rl_gamma_consts(1.0 + n[arm] - s[arm], &d, &c);
            ga2[arm] = d;
            ga3[arm] = c;
        }
        reward_sum += y;
        regret += gaps[arm];
        while (ci < nck && ckpt[ci] == t) {
            out_regret[ci] = regret;
            ci += 1;
        }
    }
    for (long long a = 0; a < K; ++a) {
        out_counts[a] = (long long)n[a];
    }
    *reward_sum_out = reward_sum;
    *greedy_out = greedy_rounds;
    *last_best_out = last_best;
}

// All replicates (_kernels.simulate_bandit): thread r runs replicate r. means (R, K), states (R, 4)
// (read, not modified), out_regret (R, nck), out_counts (R, K); scratch (10, K, R) when RL_MAXK == 0.
RL_KERNEL void simulate_bandit(long long policy, const double* RL_RESTRICT pp, long long family,
                               double sigma, const double* RL_RESTRICT means, long long horizon,
                               const u64* RL_RESTRICT states, const long long* RL_RESTRICT ckpt,
                               long long nck, const double* RL_RESTRICT zx, const double* RL_RESTRICT zf,
                               double* RL_RESTRICT out_regret, long long* RL_RESTRICT out_counts,
                               double* RL_RESTRICT out_reward, long long* RL_RESTRICT out_greedy,
                               long long* RL_RESTRICT out_last_best, double* scratch,
                               long long R, long long K) {
    const long long r = (long long)blockIdx.x * (long long)blockDim.x + (long long)threadIdx.x;
    if (r >= R) {
        return;
    }
    u64 st[4];
    st[0] = states[4 * r];
    st[1] = states[4 * r + 1];
    st[2] = states[4 * r + 2];
    st[3] = states[4 * r + 3];
#if RL_MAXK > 0
    double n_[RL_MAXK], s_[RL_MAXK], mean_[RL_MAXK], idx_[RL_MAXK], gaps_[RL_MAXK], rsn_[RL_MAXK];
    double ga0_[RL_MAXK], ga1_[RL_MAXK], ga2_[RL_MAXK], ga3_[RL_MAXK];
    rl_arr n = {n_, 1}, s = {s_, 1}, mean = {mean_, 1}, idx = {idx_, 1}, gaps = {gaps_, 1};
    rl_arr rsn = {rsn_, 1}, ga0 = {ga0_, 1}, ga1 = {ga1_, 1}, ga2 = {ga2_, 1}, ga3 = {ga3_, 1};
#else
    const long long KR = K * R;
    rl_arr n = {scratch + r, R}, s = {scratch + KR + r, R}, mean = {scratch + 2 * KR + r, R};
    rl_arr idx = {scratch + 3 * KR + r, R}, gaps = {scratch + 4 * KR + r, R};
    rl_arr rsn = {scratch + 5 * KR + r, R}, ga0 = {scratch + 6 * KR + r, R};
    rl_arr ga1 = {scratch + 7 * KR + r, R}, ga2 = {scratch + 8 * KR + r, R};
    rl_arr ga3 = {scratch + 9 * KR + r, R};
#endif
    double rs;
    long long g, lb;
    rl_run_one(policy, pp, family, sigma, means + r * K, K, horizon, st, ckpt, nck, zx, zf,
               out_regret + r * nck, out_counts + r * K, n, s, mean, idx, gaps, rsn, ga0, ga1, ga2, ga3,
               &rs, &g, &lb);
    out_reward[r] = rs;
    out_greedy[r] = g;
    out_last_best[r] = lb;
}
"""


def kernel_source(maxk: int) -> str:
    """The full CUDA/C++ source for local-scratch bucket ``maxk`` (0: global scratch).

    Prepends the policy and family codes of :mod:`regretlab.bandits.policies` and the ziggurat edge
    ``ZIG_R`` of :mod:`regretlab.core.rng` (as ``repr``, which round-trips exactly) to :data:`CUDA_SOURCE`.
    """
    defines = {
        "RL_MAXK": int(maxk),
        "RL_UNIFORM": _p.UNIFORM,
        "RL_GREEDY": _p.GREEDY,
        "RL_EPS_GREEDY": _p.EPS_GREEDY,
        "RL_EPS_DECAY": _p.EPS_DECAY,
        "RL_ETC": _p.ETC,
        "RL_UCB1": _p.UCB1,
        "RL_UCB_K24": _p.UCB_K24,
        "RL_UCB_C": _p.UCB_C,
        "RL_UCB_ALPHA": _p.UCB_ALPHA,
        "RL_KL_UCB": _p.KL_UCB,
        "RL_TS_BETA": _p.TS_BETA,
        "RL_TS_GAUSS": _p.TS_GAUSS,
        "RL_BERNOULLI": _p.BERNOULLI,
        "RL_GAUSSIAN": _p.GAUSSIAN,
    }
    head = "".join(f"#define {k} {v}\n" for k, v in defines.items())
    head += f"#define RL_ZIG_R {float(ZIG_R)!r}\n"
    return head + CUDA_SOURCE


def local_capacity(K: int) -> int:
    """Smallest bucket of :data:`LOCAL_BUCKETS` holding K arms, or 0 (global scratch) above them."""
    for b in LOCAL_BUCKETS:
        if K <= b:
            return b
    return 0


def launch_chunk(R: int, K: int) -> int:
    """Replicates per launch: all of them with local scratch, else as many as fit in SCRATCH_BYTES."""
    if local_capacity(K) > 0:
        return max(R, 1)
    per_replicate = SCRATCH_ARRAYS * K * 8
    fit = max(1, SCRATCH_BYTES // per_replicate)
    return max(1, min(R, fit))


def drive(xp, launch, code, pp, fam, sigma, means, horizon, states, ckpt) -> dict:
    """Launch the kernel over all replicates with array module ``xp`` (cupy, or numpy for host tests).

    ``launch(grid, args)`` runs ``simulate_bandit`` on ``grid`` blocks of :data:`THREADS_PER_BLOCK`
    threads with the argument tuple ``args`` (``xp`` arrays and NumPy scalars ``int64``/``float64``).
    Returns the kernel's outputs as ``xp`` arrays (regret (R, C), counts (R, K), reward_sum (R,),
    greedy_rounds (R,), last_best (R,)).
    """
    means = np.ascontiguousarray(means, dtype=np.float64)
    R, K = means.shape
    C = int(np.asarray(ckpt).shape[0])
    d_pp = xp.asarray(np.ascontiguousarray(pp, dtype=np.float64))
    d_means = xp.asarray(means)
    d_states = xp.asarray(np.ascontiguousarray(states, dtype=np.uint64))
    d_ckpt = xp.asarray(np.ascontiguousarray(ckpt, dtype=np.int64))
    d_zx = xp.asarray(ZIG_X)
    d_zf = xp.asarray(ZIG_F)
    out = {
        "regret": xp.zeros((R, C), dtype=xp.float64),
        "counts": xp.zeros((R, K), dtype=xp.int64),
        "reward_sum": xp.zeros(R, dtype=xp.float64),
        "greedy_rounds": xp.zeros(R, dtype=xp.int64),
        "last_best": xp.zeros(R, dtype=xp.int64),
    }
    if R == 0:
        return out
    chunk = launch_chunk(R, K)
    if local_capacity(K) > 0:
        scratch = xp.zeros(1, dtype=xp.float64)  # unused placeholder pointer
    else:
        scratch = xp.empty(SCRATCH_ARRAYS * K * chunk, dtype=xp.float64)
    for r0 in range(0, R, chunk):
        r1 = min(R, r0 + chunk)
        nr = r1 - r0
        grid = (nr + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
        args = (
            np.int64(code), d_pp, np.int64(fam), np.float64(sigma), d_means[r0:r1], np.int64(horizon),
            d_states[r0:r1], d_ckpt, np.int64(C), d_zx, d_zf,
            out["regret"][r0:r1], out["counts"][r0:r1], out["reward_sum"][r0:r1],
            out["greedy_rounds"][r0:r1], out["last_best"][r0:r1], scratch, np.int64(nr), np.int64(K),
        )
        launch(grid, args)
    return out


@functools.cache
def _kernel(maxk: int):
    """The compiled ``simulate_bandit`` RawKernel for a scratch bucket (NVRTC compiles on first launch)."""
    from regretlab.core.backends import get_cupy

    cp = get_cupy()
    return cp.RawKernel(kernel_source(maxk), "simulate_bandit", options=NVRTC_OPTIONS)


def simulate(code, pp, fam, sigma, means, horizon, states, ckpt) -> dict:
    """GPU twin of ``_kernels.simulate_bandit``: validated NumPy inputs in, dict of NumPy arrays out.

    ``means`` (R, K) float64, ``states`` (R, 4) uint64 (not modified), ``ckpt`` (C,) int64 increasing.
    Returns ``regret`` (R, C) float64, ``counts`` (R, K) int64, ``reward_sum`` (R,) float64,
    ``greedy_rounds`` (R,) int64, ``last_best`` (R,) int64, computed on the current CUDA device.
    """
    from regretlab.core.backends import get_cupy

    cp = get_cupy()
    K = np.asarray(means).shape[1]
    kern = _kernel(local_capacity(K))

    def launch(grid, args):
        kern((grid,), (THREADS_PER_BLOCK,), args)

    out = drive(cp, launch, code, pp, fam, sigma, means, horizon, states, ckpt)
    return {k: cp.asnumpy(v) for k, v in out.items()}
