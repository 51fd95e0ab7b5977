"""regretlab: fast, faithful simulators for theory-oriented RL and bandit experiments.

Public entry points (importing regretlab compiles nothing and never imports CuPy):

- :func:`load` -- open a results directory (``.summary``, ``.curves``, ``.cell(i)``);
- :func:`run` -- run a sweep config (path or dict) into a results directory;
- :func:`resume` -- continue an interrupted sweep;
- :func:`list_experiments` -- the registered experiments;
- ``regretlab.bandits`` -- the stochastic-bandit simulator (``regretlab.bandits.simulate``);
- ``regretlab.core`` -- finite MDPs, FTRL on the simplex, regret statistics, seeding, backends.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "list_experiments", "load", "resume", "run"]


def load(path):
    """Open a results directory; see :func:`regretlab.core.results.load`."""
    from regretlab.core.results import load as _load

    return _load(path)


def run(config, **kwargs):
    """Run a sweep; see :func:`regretlab.core.runner.run_sweep`."""
    from regretlab.core.runner import run_sweep

    return run_sweep(config, **kwargs)


def resume(path, **kwargs):
    """Resume a sweep; see :func:`regretlab.core.runner.resume`."""
    from regretlab.core.runner import resume as _resume

    return _resume(path, **kwargs)


def list_experiments():
    """The registered experiments (:class:`regretlab.core.registry.Experiment`)."""
    from regretlab.core.registry import list_experiments as _list

    return _list()
