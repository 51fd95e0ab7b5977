"""Evaluating the exploration of agents (LLM agents included) on bandits, online learning and repeated games
(specs/llm-bandit-envs.md). So far: :mod:`.metrics`, the exploration metrics of [K24], [C25], [N24] and [P25]
computed from recorded histories; environments live in ``environments/regretlab_envs``."""
