"""Reference points from the EGRU paper, for the trade-off figure.

Source: A. Subramoney, K. K. Nazeer, M. Schöne, C. Mayr, D. Kappel, "Efficient
recurrent architectures through activity sparsity and sparse back-propagation
through time", ICLR 2023, arXiv:2206.06178.

Only relative figures are kept (activity sparsity, MAC savings against a dense
GRU): the paper's models are far larger than this project's, so their absolute
MACs and task metrics are not comparable with ours. Every entry says where its
figure comes from. ``uncertain: True`` marks figures that were NOT checked
against the paper's text inside this project (they are the approximate values
quoted in the project's task description); the figure draws them hollow and
writes "(approx.)". Verify them against the paper before quoting them, and set
``uncertain`` to False (with the table/section) once checked.

Fields: ``task`` (canonical name), ``aliases`` (task names of this project
that match; compared lower-case without ``-``/``_``/spaces), ``label``,
``activity_sparsity`` (low, high) as fractions (equal for a single value),
``savings_vs_gru`` (x, or None when the paper gives no such factor), ``source``,
``uncertain``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

CITATION = ("Subramoney, Nazeer, Schöne, Mayr, Kappel: Efficient recurrent architectures through activity "
            "sparsity and sparse back-propagation through time. ICLR 2023. arXiv:2206.06178")

REFERENCES = (
    {"task": "smnist", "aliases": ("smnist", "smnist5k", "sequentialmnist", "seqmnist"),
     "label": "sMNIST EGRU", "activity_sparsity": (0.72, 0.72), "savings_vs_gru": 5.0,
     "source": "arXiv:2206.06178, sequential MNIST results (approx. 72% activity sparsity, about 5x fewer "
               "MACs than a GRU, as quoted in the project brief)",
     "uncertain": True},
    {"task": "ptb", "aliases": ("ptb", "penntreebank", "pennTreebank"),
     "label": "PTB LM EGRU", "activity_sparsity": (0.80, 0.90), "savings_vs_gru": None,
     "source": "arXiv:2206.06178, language modelling on Penn Treebank (activity sparsity 80-90% across "
               "layers, as quoted in the project brief)",
     "uncertain": True},
    {"task": "wikitext2", "aliases": ("wikitext2", "wt2", "wikitext"),
     "label": "WikiText-2 LM EGRU", "activity_sparsity": (0.80, 0.90), "savings_vs_gru": None,
     "source": "arXiv:2206.06178, language modelling on WikiText-2 (activity sparsity 80-90% across "
               "layers, as quoted in the project brief)",
     "uncertain": True},
)


def _norm(name) -> str:
    return "".join(ch for ch in str(name).lower() if ch not in "-_ ./")


def matching_references(task, references: Sequence[Mapping] | None = None) -> list:
    """The reference entries whose task or aliases match ``task`` (none when task is None)."""
    if task is None:
        return []
    refs = REFERENCES if references is None else references
    t = _norm(task)
    return [dict(r) for r in refs
            if t == _norm(r.get("task", "")) or t in {_norm(a) for a in r.get("aliases", ())}]
