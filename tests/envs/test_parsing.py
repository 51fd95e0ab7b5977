"""The free-text answer parser (specs/llm-bandit-envs.md §4): golden cases for every rule, properties."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regretlab_envs.parsing import MAX_PARSED, STATUSES, parse_answer, render_choice, render_distribution

COLOURS = ("blue", "red", "dark red", "green")
POOL = ("blue", "red", "dark red", "green", "Arm 1", "Arm 10", "Ad A", "Ad B", "light blue sky", "gold")


@pytest.mark.parametrize(
    ("text", "status", "arm"),
    [
        ("blue", "ok", 0),
        ("<Answer>green</Answer>", "ok", 3),
        ("I like red, but blue... <answer>Dark Red</answer>", "ok", 2),
        ("<Answer>red</Answer> then <Answer>blue</Answer>", "ok", 0),
        ("<think>blue is best</think><Answer>green</Answer>", "ok", 3),
        ("ACTION=blue", "ok", 0),
        ("Reasoning about red.\nFinal answer: green", "ok", 3),
        ("**Blue**.", "ok", 0),
        ("\uff22\uff4c\uff55\uff45", "ok", 0),  # fullwidth letters
        ("I press\u00a0the dark red button", "ok_fuzzy", 2),
        ("red or blue", "ambiguous", None),
        ("button 2", "ok_index", 2),
        ("3", "ok_index", 3),
        ("7", "invalid", None),
        ("purple", "invalid", None),
        ("   ", "empty", None),
        ("", "empty", None),
    ],
)
def test_single_mode_golden(text, status, arm):
    res = parse_answer(text, COLOURS)
    assert (res.status, res.arm) == (status, arm)


def test_index_base_letters_and_cot_last_line():
    assert parse_answer("arm 1", COLOURS, index_base=1).arm == 0
    assert parse_answer("arm 4", COLOURS, index_base=1).arm == 3
    assert parse_answer("c", COLOURS).status == "ok_index" and parse_answer("c", COLOURS).arm == 2
    letters = ("A", "B", "C")
    assert parse_answer("B", letters).arm == 1
    # "a" as an article in a long sentence is not arm A
    assert parse_answer("I think that a good choice now is B here", letters).status == "invalid"
    assert parse_answer("<Answer>a</Answer>", letters).arm == 0
    text = "Let me think about blue.\nIt has been good.\nred"
    assert parse_answer(text, COLOURS, cot=True).arm == 1
    assert parse_answer(text, COLOURS).status == "ambiguous"
    assert parse_answer(None, COLOURS).status == "empty"
    assert parse_answer(b"<Answer>red</Answer>", COLOURS).arm == 1


@pytest.mark.parametrize(
    ("text", "status", "dist", "unknown"),
    [
        ("<Answer>blue: 0.25, red: 0.75</Answer>", "ok", (0.25, 0.75, 0, 0), 0),
        ("blue: 25%, dark red: 75%", "ok", (0.25, 0, 0.75, 0), 0),
        ("blue = 1/4, green = 3/4", "ok", (0.25, 0, 0, 0.75), 0),
        ("blue: 2, red: 2", "ok_renormalised", (0.5, 0.5, 0, 0), 0),
        ("blue: 0.5, purple: 0.3, red: 0.5", "ok", (0.5, 0.5, 0, 0), 1),
        ("blue: 0.9, blue: 0.5, red: 0.5", "ok", (0.5, 0.5, 0, 0), 0),
        ("blue: -0.5, red: 1.5", "invalid", None, 0),
        ("blue: 0, red: 0", "invalid", None, 0),
        ("blue: nan, red: 1", "invalid", None, 0),
        ("blue", "invalid", None, 0),
    ],
)
def test_distribution_mode_golden(text, status, dist, unknown):
    res = parse_answer(text, COLOURS, "distribution")
    assert res.status == status and res.unknown_names == unknown
    if dist is None:
        assert res.distribution is None
    else:
        assert res.distribution == pytest.approx(dist)


def test_bad_arguments_name_the_parameter():
    for names in ([], "blue", ["a", "A"], ["", "b"]):
        with pytest.raises(ValueError, match="names"):
            parse_answer("x", names)
    with pytest.raises(ValueError, match="mode"):
        parse_answer("x", COLOURS, "multi")
    with pytest.raises(ValueError, match="index_base"):
        parse_answer("x", COLOURS, index_base=2)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["single", "distribution"]), st.booleans())
def test_never_raises_and_consistent(text, mode, cot):
    res = parse_answer(text, POOL, mode, cot=cot)
    assert res.status in STATUSES and res.status != "error"
    if res.ok and mode == "single":
        assert 0 <= res.arm < len(POOL) and res.distribution is None
    elif res.ok:
        assert res.arm is None and abs(sum(res.distribution) - 1.0) < 1e-9 and min(res.distribution) >= 0
    else:
        assert res.arm is None and res.distribution is None
    res.as_dict()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_round_trip_rendered_choices_and_distributions(data):
    names = data.draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=len(POOL), unique=True))
    arm = data.draw(st.integers(0, len(names) - 1))
    res = parse_answer(render_choice(arm, names), names)
    assert (res.status, res.arm) == ("ok", arm)
    w = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(names), max_size=len(names)).filter(
        lambda v: sum(v) > 0.1))
    p = [x / sum(w) for x in w]
    res = parse_answer(render_distribution(p, names), names, "distribution")
    assert res.status in ("ok", "ok_renormalised")
    assert res.distribution == pytest.approx(p, abs=2e-3)
    reasoning = data.draw(st.text(alphabet=st.characters(blacklist_characters="<>[]"), max_size=200))
    assert parse_answer(reasoning + "\n" + render_choice(arm, names), names, cot=True).arm == arm


# ---------------------------------------------------------------------------------------------------
# Long and adversarial replies: linear-time parsing and the documented cap (module docstring, rule 1)

#: Replies that made the former patterns rescan a run of text from each of its positions (lazy ``word: number``
#: search, unclosed tags, trailing-punctuation strip): text of n characters -> (reply, mode).
ADVERSARIAL = {
    "letters, no pair": lambda n: ("x" * n, "distribution"),
    "words, no colon": lambda n: (("arm arm reasoning 12 " * n)[:n], "distribution"),
    "arm arm arm": lambda n: (("arm " * n)[:n], "single"),
    "unclosed <answer>": lambda n: (("<answer>" * n)[:n], "single"),
    "unclosed [answer]": lambda n: (("[answer]x" * n)[:n], "distribution"),
    "punctuation run": lambda n: ("." * (n - 1) + "x", "single"),
    "underscore run": lambda n: ("a" + "_" * (n - 2) + "a", "single"),
}


def _best_time(text, mode, repeats=5) -> float:
    import time

    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        parse_answer(text, COLOURS, mode)
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.parametrize("family", list(ADVERSARIAL))
def test_parse_time_grows_linearly_in_the_reply(family):
    # n and 10 n below MAX_PARSED, so the patterns themselves are timed, not the cap; linear: ~10x, quadratic:
    # ~100x (the former unknown-name search took 0.13 s at 2,000 characters and 8 s at 20,000)
    n = MAX_PARSED // 10
    assert 10 * n <= MAX_PARSED
    small = _best_time(*ADVERSARIAL[family](n))
    ratio = math.inf
    for _ in range(5):  # best of several tries of the large input (a busy machine), stop once within bounds
        ratio = min(ratio, _best_time(*ADVERSARIAL[family](10 * n), repeats=1) / small)
        if ratio <= 20:
            break
    assert ratio <= 20, f"{family}: 10x the text cost {ratio:.0f}x the time"


def test_a_megabyte_adversarial_reply_is_parsed_and_the_cut_counted():
    import time

    size = 1 << 20
    t0 = time.perf_counter()
    for family, make in ADVERSARIAL.items():
        text, mode = make(size)
        res = parse_answer(text, COLOURS, mode)
        assert res.status in STATUSES and res.truncated == size - MAX_PARSED, family
        assert len(res.extracted) <= MAX_PARSED
    assert time.perf_counter() - t0 < 10.0


def test_only_the_tail_of_a_long_reply_is_parsed():
    filler = "Let me weigh the options carefully once more. " * 2000  # ~94k characters, no arm name
    assert len(filler) > MAX_PARSED
    res = parse_answer(filler + "<Answer>red</Answer>", COLOURS)
    assert (res.status, res.arm) == ("ok", 1)
    assert res.truncated == len(filler) + len("<Answer>red</Answer>") - MAX_PARSED
    assert res.as_dict()["truncated"] == res.truncated
    # the last answer is the one read (rule 2), so an answer only at the head of a long reply is not seen
    res = parse_answer("<Answer>red</Answer>" + filler, COLOURS)
    assert res.status == "invalid" and res.truncated > 0
    # within the limit nothing is cut and the first-kind/last-occurrence rule is unchanged
    res = parse_answer("<Answer>blue</Answer>" + filler[:MAX_PARSED - 100], COLOURS)
    assert (res.status, res.arm, res.truncated) == ("ok", 0, 0)
    # <think> blocks are removed before the cap: a long reasoning block does not push the answer out
    res = parse_answer("<think>" + filler + "red or green?</think> blue", COLOURS)
    assert (res.status, res.arm, res.truncated) == ("ok", 0, 0)
    res = parse_answer(filler + "\nblue: 0.25, green: 0.75", COLOURS, "distribution")
    assert res.status == "ok" and res.distribution == pytest.approx((0.25, 0, 0, 0.75)) and res.truncated > 0


def test_tag_rule_on_mixed_and_unclosed_tags():
    # the leftmost-first, non-overlapping tag matches, the last one wins (rule 2)
    assert parse_answer("<answer>red[answer]blue</answer>[/answer]", COLOURS).status == "ambiguous"
    assert parse_answer("[answer]red <answer>blue[/answer] </answer>", COLOURS).status == "ambiguous"
    assert parse_answer("<answer>red</answer><answer>green", COLOURS).arm == 1
    assert parse_answer("<answer>red<answer>green", COLOURS).arm == 3  # an unclosed final tag: the rest
    assert parse_answer("[answer]red[/answer]<ANSWER>blue</Answer>", COLOURS).arm == 0
    assert parse_answer("<answer>blue: 1, gold: 2, sky high = 3%", COLOURS, "distribution").unknown_names == 2
