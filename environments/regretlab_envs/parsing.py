"""Parsing an agent's free-text answer into an arm or a distribution (specs/llm-bandit-envs.md §4).

:func:`parse_answer` never raises on the text (only on bad ``names``/``mode``). Rules, in order:

1. Normalise (:func:`normalise`): Unicode NFKC, ASCII-fold (NFKD, non-ASCII dropped), lower-case, Markdown
   emphasis and backticks (``*``, ``_``, `````) removed, whitespace runs collapsed to one space, surrounding
   quotes and trailing ``.,;:!?`` stripped. Names are normalised the same way.
   Long replies: text inside ``<think>...</think>`` is removed first (rule 2); of what remains only the last
   :data:`MAX_PARSED` characters are parsed, since every rule below reads the LAST answer of a reply and a chain
   of thought ends with its answer. ``ParseResult.truncated`` counts the characters dropped (0 for any reply
   within the limit, whose parse is unchanged). Every rule runs in time linear in the text parsed (literal
   tokens found by ``re`` and combined by a scan, no pattern that rescans a run of text from each of its
   positions), so a reply costs at most O(MAX_PARSED) after the linear ``<think>`` removal.
2. Locate the answer span on the raw text, case-insensitively; the first kind below that occurs anywhere wins,
   and within it the LAST occurrence: ``<answer>...</answer>`` or ``[answer]...[/answer]`` (an unclosed final
   ``<answer>`` takes the rest of the text); ``action = X``; ``final answer: X`` (or ``=``); ``answer: X``
   (X = the rest of that line). Text inside ``<think>...</think>`` is removed first. Without any of these the
   span is the whole text, or its last non-empty line when chain-of-thought was requested (``cot=True``).
3. ``single`` mode: the span equal to a name -> ``ok``. Otherwise whole-word search for names (letters and
   digits are word characters; multi-word names match as phrases), longest names first, each match removed
   before shorter names are sought (so "dark red" is not also "red"): one distinct name -> ``ok_fuzzy``, several
   -> ``ambiguous``. Single-letter names are sought only when the span has at most three words (so the article
   "a" in a sentence is not read as arm "A"). With no name: an index form ("arm 3", "button 3", "option 3",
   "#3" or a bare integer, read with ``index_base``; or a bare letter when no name is a single letter, a = 0),
   accepted when exactly one distinct in-range index is found -> ``ok_index``. Else ``invalid``; an empty or
   whitespace-only text (or None) -> ``empty``.
4. ``distribution`` mode: pairs ``name : number`` (also ``=`` or ``-``) in the span, numbers as decimals,
   percents (25%) or fractions (1/4); the last value of a repeated arm wins; a ``word: number`` pair whose word
   is no arm is ignored and counted in ``unknown_names``. No pair, a negative or non-finite number, or a sum
   <= 0 -> ``invalid``; else renormalised: ``ok`` if |sum - 1| <= 1e-3, ``ok_renormalised`` otherwise; arms
   not mentioned get 0.
5. ``error`` is only made by callers (:meth:`ParseResult.error`) for transport failures.

Standard library only.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace

__all__ = ["MAX_PARSED", "OK_STATUSES", "STATUSES", "ParseResult", "clip_reply", "normalise", "parse_answer",
           "render_choice", "render_distribution"]

STATUSES = ("ok", "ok_fuzzy", "ok_index", "ok_renormalised", "ambiguous", "invalid", "empty", "error")
OK_STATUSES = ("ok", "ok_fuzzy", "ok_index", "ok_renormalised")
MODES = ("single", "distribution")

#: The longest (think-free) tail of a reply that is parsed (module docstring, rule 1).
MAX_PARSED = 16384

# ``<think>.*?(</think>|$)`` is linear: each match consumes what it scanned.
_THINK = re.compile(r"<think>.*?(</think>|$)", re.IGNORECASE | re.DOTALL)
# The tag rule, ``<answer>(.*?)</answer>|\[answer\](.*?)\[/answer\]`` taken leftmost-first without overlap, is
# evaluated by :func:`_last_tag` from the positions of these four literal tokens: the lazy pattern rescans the
# rest of the text from every unclosed opening tag (quadratic in a reply of unclosed tags).
_TAG_OPEN = (re.compile(r"<answer>", re.IGNORECASE), re.compile(r"\[answer\]", re.IGNORECASE))
_TAG_CLOSE = (re.compile(r"</answer>", re.IGNORECASE), re.compile(r"\[/answer\]", re.IGNORECASE))
_LINE_RULES = (re.compile(r"action\s*=\s*([^\n]*)", re.IGNORECASE),
               re.compile(r"final\s+answer\s*[:=]\s*([^\n]*)", re.IGNORECASE),
               re.compile(r"answer\s*[:=]\s*([^\n]*)", re.IGNORECASE))
_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:\s*/\s*\d+(?:\.\d*)?)?\s*%?|nan|inf(?:inity)?)"
_INDEX = re.compile(r"(?:\b(?:arm|button|option|choice|number)\s*|#)(\d+)\b|^(\d+)$")
# ``word: number`` pairs of no arm (rule 4): a maximal run of [a-z0-9 ] holding a letter, then this tail.
_LETTER = re.compile(r"[a-z]")
_RUN = re.compile(r"[a-z0-9 ]*")
_PAIR_TAIL = re.compile(r"\s*[:=]\s*" + _NUMBER)


@dataclass(frozen=True)
class ParseResult:
    """The outcome of parsing one reply (module docstring)."""

    status: str
    arm: int | None = None
    distribution: tuple[float, ...] | None = None
    extracted: str = ""
    unknown_names: int = 0
    truncated: int = 0

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @classmethod
    def error(cls, kind: str) -> ParseResult:
        """A transport failure (``kind`` is the exception class name)."""
        return cls("error", extracted=str(kind))

    def as_dict(self) -> dict:
        return {"status": self.status, "arm": self.arm,
                "distribution": None if self.distribution is None else list(self.distribution),
                "extracted": self.extracted, "unknown_names": self.unknown_names, "truncated": self.truncated}


def normalise(text: str) -> str:
    """Rule 1 of the module docstring."""
    s = unicodedata.normalize("NFKC", text)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()
    s = re.sub(r"[*`]+", "", s)
    s = re.sub(r"(?<![a-z0-9])_+|_+(?![a-z0-9])", "", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = s.strip("'\"")
    # rstrip, not re.sub(r"[.,;:!?]+$"): that pattern retries a punctuation run from each of its positions
    s = s.rstrip(".,;:!?").strip().strip("'\"").strip()
    return s


def _last_tag(text: str) -> str | None:
    """The content of the last match of ``<answer>(.*?)</answer>|\\[answer\\](.*?)\\[/answer\\]`` (case-insensitive,
    DOTALL) as ``re.finditer`` finds them, or None; linear in ``len(text)``."""
    opens = sorted((m.start(), m.end(), k) for k in (0, 1) for m in _TAG_OPEN[k].finditer(text))
    if not opens:
        return None
    closes = [[(m.start(), m.end()) for m in pat.finditer(text)] for pat in _TAG_CLOSE]
    nxt = [0, 0]  # per kind: the first close not yet passed (opens are visited left to right)
    pos, last = 0, None
    for start, body, k in opens:
        if start < pos:  # inside the previous match
            continue
        cl = closes[k]
        while nxt[k] < len(cl) and cl[nxt[k]][0] < body:
            nxt[k] += 1
        if nxt[k] < len(cl):  # the lazy body stops at the first close after the opening tag
            last = text[body:cl[nxt[k]][0]]
            pos = cl[nxt[k]][1]
    return last


def _locate(text: str, cot: bool) -> str:
    """Rule 2 on a text whose ``<think>`` blocks are already removed."""
    tag = _last_tag(text)
    if tag is not None:
        return tag
    opens = [m.end() for m in _TAG_OPEN[0].finditer(text)]
    if opens:  # an unclosed final <answer> takes the rest of the text
        return text[opens[-1]:]
    for rule in _LINE_RULES:
        found = list(rule.finditer(text))
        if found:
            return found[-1].group(1)
    if cot:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else ""
    return text


def _phrase(name: str) -> re.Pattern:
    return re.compile(r"(?<![a-z0-9])" + re.escape(name).replace(r"\ ", r"\s+") + r"(?![a-z0-9])")


def _check_names(names) -> tuple[str, ...]:
    if isinstance(names, str) or not hasattr(names, "__len__") or len(names) < 1:
        raise ValueError(f"parse_answer: names must be a non-empty sequence of distinct strings, got {names!r}")
    out = []
    for n in names:
        if not isinstance(n, str) or not normalise(n):
            raise ValueError(f"parse_answer: names must be non-empty strings, got {n!r}")
        out.append(normalise(n))
    if len(set(out)) != len(out):
        raise ValueError(f"parse_answer: names must be distinct after normalisation, got {list(names)!r}")
    return tuple(out)


def _number(tok: str) -> float:
    tok = tok.replace(" ", "")
    pct = tok.endswith("%")
    tok = tok.rstrip("%")
    if "/" in tok:
        a, b = tok.split("/", 1)
        x = float(a) / float(b) if float(b) != 0.0 else math.nan
    else:
        x = float(tok)
    return x / 100.0 if pct else x


def parse_answer(text, names, mode: str = "single", *, cot: bool = False, index_base: int = 0) -> ParseResult:
    """Parse ``text`` against arm ``names`` in ``mode`` "single" | "distribution" (module docstring)."""
    keys = _check_names(names)
    if mode not in MODES:
        raise ValueError(f"parse_answer: mode must be one of {list(MODES)}, got {mode!r}")
    if index_base not in (0, 1):
        raise ValueError(f"parse_answer: index_base must be 0 or 1, got {index_base!r}")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text.strip():
        return ParseResult("empty")
    text = _THINK.sub(" ", text)
    cut = max(len(text) - MAX_PARSED, 0)
    res = _parse_single(text[cut:], keys, bool(cot), index_base) if mode == "single" else \
        _parse_distribution(normalise(_locate(text[cut:], bool(cot))), keys)
    return replace(res, truncated=cut) if cut else res


def _parse_single(text: str, keys: tuple[str, ...], cot: bool, index_base: int) -> ParseResult:
    span = normalise(_locate(text, cot))
    if not span:
        return ParseResult("invalid", extracted=span)
    if span in keys:
        return ParseResult("ok", arm=keys.index(span), extracted=span)
    rest = span
    found = set()
    short = len(span.split()) <= 3
    for a in sorted(range(len(keys)), key=lambda i: -len(keys[i])):
        if len(keys[a]) == 1 and not short:
            continue
        pat = _phrase(keys[a])
        if pat.search(rest):
            found.add(a)
            rest = pat.sub(" # ", rest)
    if len(found) == 1:
        return ParseResult("ok_fuzzy", arm=found.pop(), extracted=span)
    if len(found) > 1:
        return ParseResult("ambiguous", extracted=span)
    idx = {int(m.group(1) or m.group(2)) - index_base for m in _INDEX.finditer(span)}
    if not any(len(k) == 1 for k in keys) and re.fullmatch(r"[a-z]", span):
        idx.add(ord(span) - ord("a"))
    idx = {i for i in idx if 0 <= i < len(keys)}
    if len(idx) == 1:
        return ParseResult("ok_index", arm=idx.pop(), extracted=span)
    return ParseResult("invalid", extracted=span)


def _parse_distribution(span: str, keys: tuple[str, ...]) -> ParseResult:
    probs: dict[int, float] = {}
    rest = span
    for a in sorted(range(len(keys)), key=lambda i: -len(keys[i])):
        pat = re.compile(_phrase(keys[a]).pattern + r"\s*[:=-]\s*" + _NUMBER)
        for m in pat.finditer(rest):
            try:
                probs[a] = _number(m.group(1))
            except (ValueError, ZeroDivisionError, OverflowError):
                probs[a] = math.nan
        rest = pat.sub(" # ", rest)
    unknown = _count_unknown(rest)
    if not probs:
        return ParseResult("invalid", extracted=span, unknown_names=unknown)
    vals = list(probs.values())
    if any(not math.isfinite(v) or v < 0 for v in vals) or sum(vals) <= 0:
        return ParseResult("invalid", extracted=span, unknown_names=unknown)
    total = math.fsum(vals)
    dist = tuple(probs.get(a, 0.0) / total for a in range(len(keys)))
    status = "ok" if abs(total - 1.0) <= 1e-3 else "ok_renormalised"
    return ParseResult(status, distribution=dist, extracted=span, unknown_names=unknown)


def _count_unknown(text: str) -> int:
    """``len(re.findall(r"[a-z][a-z0-9 ]*?\\s*[:=]\\s*" + _NUMBER, text))`` in linear time.

    A match starting at a letter needs the maximal run of ``[a-z0-9 ]`` after it to be followed by
    ``\\s*[:=]\\s*number``; every letter of one run shares that run's end, so a run is tested once (the regex
    tries it again from each of its letters: quadratic in a long run of words with no ``:``)."""
    n, pos, size = 0, 0, len(text)
    while pos < size:
        m = _LETTER.search(text, pos)
        if m is None:
            break
        end = _RUN.match(text, m.end()).end()
        tail = _PAIR_TAIL.match(text, end)
        if tail is not None:
            n += 1
            pos = tail.end()
        else:
            pos = end
    return n


def clip_reply(text: str, limit: int) -> str:
    """The reply as kept in a transcript: whole if it fits in ``limit`` characters, else its first and last
    ``limit // 2`` characters around a marker naming how many were left out (the tail is what the parser read)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters omitted ...]\n{text[-half:]}"


def render_choice(arm: int, names) -> str:
    """``<Answer>name</Answer>``: how a numeric agent answers a single-arm prompt."""
    return f"<Answer>{names[arm]}</Answer>"


def render_distribution(probs, names, decimals: int = 3) -> str:
    """``<Answer>name: p, ...</Answer>`` with ``decimals`` decimals."""
    return "<Answer>" + ", ".join(f"{n}: {float(p):.{decimals}f}" for n, p in zip(names, probs)) + "</Answer>"
