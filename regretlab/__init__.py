"""regretlab: fast, faithful simulators for theory-oriented RL and bandit experiments."""
__version__ = "0.1.0"
