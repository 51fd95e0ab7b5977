"""A reply of a megabyte through the text views: parsed in bounded time from its tail, the cut counted in
``info["parse"]["truncated"]`` (regretlab_envs.parsing, rule 1)."""
from __future__ import annotations

import time

from regretlab_envs.bandits import BernoulliBanditEnv
from regretlab_envs.online import ExpertsEnv
from regretlab_envs.parsing import MAX_PARSED, render_choice, render_distribution
from regretlab_envs.text import MAX_REPLY, TextBanditWrapper
from regretlab_envs.text_online import TextOnlineWrapper

FILLER = "arm arm reasoning, weighing " * 40_000  # ~1.1 MB, no arm name, no answer tag, no "word: number" pair


def test_bandit_view_reads_the_answer_at_the_end_of_a_megabyte_reply():
    env = TextBanditWrapper(BernoulliBanditEnv([0.2, 0.8, 0.5], 3))
    env.reset(seed=0)
    reply = FILLER + render_choice(2, env.names)
    t0 = time.perf_counter()
    _, _, _, _, info = env.step(reply)
    assert time.perf_counter() - t0 < 10.0
    assert info["parse"]["status"] == "ok" and info["action"] == 2 and info["parse"]["fallback"] is None
    assert info["parse"]["truncated"] == len(reply) - MAX_PARSED
    # the transcript keeps the head and the tail (the part that was parsed), and says how much it left out
    raw = info["parse"]["raw"]
    assert len(raw) <= MAX_REPLY + 100 and raw.endswith(render_choice(2, env.names)) and raw.startswith("arm arm")
    assert f"[... {len(reply) - MAX_REPLY} characters omitted ...]" in raw
    _, _, _, _, info = env.step(render_choice(1, env.names))
    assert info["parse"]["raw"] == render_choice(1, env.names)
    assert info["parse"]["truncated"] == 0


def test_online_view_reads_the_answer_at_the_end_of_a_megabyte_reply():
    env = TextOnlineWrapper(ExpertsEnv("iid_uniform", d=3, horizon=3))
    env.reset(seed=0)
    reply = FILLER + render_distribution([0.0, 0.25, 0.75], env.names)
    t0 = time.perf_counter()
    _, _, _, _, info = env.step(reply)
    assert time.perf_counter() - t0 < 10.0
    assert info["parse"]["status"] == "ok" and info["parse"]["distribution"] == [0.0, 0.25, 0.75]
    assert info["parse"]["truncated"] == len(reply) - MAX_PARSED
