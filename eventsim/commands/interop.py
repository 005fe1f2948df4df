"""``eventsim import`` and ``eventsim export``: EvNN / PyTorch checkpoints in and out."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="convert an EvNN EGRU (or PyTorch GRU) checkpoint into an eventsim model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read an EvNN EGRU state dict (kernel, recurrent_kernel, bias, recurrent_bias, "
                    "thr per layer, under any module prefix, with an optional nn.Linear decoder and "
                    "nn.Embedding) from .safetensors or .pt/.pth (needs torch), and write an eventsim "
                    "model .npz. PyTorch nn.GRU / nn.GRUCell weights are converted into an EGRU only "
                    "with --gru-threshold (a GRU has no threshold; the result is not a GRU).",
        epilog="examples:\n"
               "  eventsim import egru_lm.pt --out model.npz --prefix model.\n"
               "  eventsim import gru.safetensors --out model.npz --gru-threshold 0.1\n"
               "see docs/interop.md")
    p.add_argument("checkpoint", help="checkpoint file: .safetensors, .pt or .pth")
    p.add_argument("--out", required=True, help="eventsim model file to write (.npz)")
    p.add_argument("--prefix", default=None,
                   help="read only keys starting with this prefix (e.g. 'model.'); picks one "
                        "network out of a checkpoint that holds several")
    p.add_argument("--gru-threshold", type=float, default=None, metavar="THR",
                   help="convert PyTorch GRU weights into an EGRU with this threshold for every unit")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="cast the model (default: the checkpoint's own dtype)")
    p.set_defaults(func=run_import)

    q = subparsers.add_parser(
        "export", help="write an eventsim model in EvNN's checkpoint layout",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write an eventsim model as an EvNN state dict: layer k as "
                    "<prefix>k.{kernel,recurrent_kernel,bias,recurrent_bias,thr,dampening_factor,"
                    "pseudo_derivative_support,_max_norm}, readout as decoder.{weight,bias}, "
                    "embedding as embeddings.weight. Each layer group loads into evnn_pytorch.EGRU "
                    "with load_state_dict. Importing the file again gives the same model.",
        epilog="example:\n  eventsim export model.npz --to model.safetensors\nsee docs/interop.md")
    q.add_argument("model", help="eventsim model file (.npz)")
    q.add_argument("--to", required=True, dest="out",
                   help="output checkpoint: .safetensors, or .pt/.pth (needs torch)")
    q.add_argument("--prefix", default="rnns.",
                   help="module prefix of the layers (default 'rnns.', as EvNN's benchmarks)")
    q.add_argument("--no-strict", action="store_true",
                   help="write the file even if EvNN would run the model differently "
                        "(reset mode 'output', delays, thresholds above 1)")
    q.set_defaults(func=run_export)


def run_import(args) -> int:
    import warnings

    from ..interop import import_checkpoint
    from ..egru.model import save_model
    from ..outputs import check_outputs
    from ._util import finite

    check_outputs([("--out", args.out)], [("CHECKPOINT", args.checkpoint)])
    finite(args.gru_threshold, "--gru-threshold")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = import_checkpoint(args.checkpoint, prefix=args.prefix,
                                  gru_threshold=args.gru_threshold, dtype=args.dtype)
    for w in caught:
        print(f"eventsim: warning: {w.message}", file=sys.stderr)
    save_model(model, args.out)
    info = model.meta.get("imported", {})
    print(f"imported {args.checkpoint}: {model.n_layers} EGRU layer(s) {model.n_in} -> "
          f"{' -> '.join(str(n) for n in model.sizes)}"
          + (f", readout {model.n_out}" if model.n_out else "")
          + (f", embedding {model.vocab} x {model.n_in}" if model.vocab else "")
          + f", {model.dtype}")
    for label in info.get("layers", []):
        print(f"  layer from {label}")
    if "converted_from" in info:
        print(f"  converted from {info['converted_from']} with threshold "
              f"{info['gru_threshold']}: this EGRU is not equivalent to the GRU")
    print(f"wrote {args.out}")
    return 0


def run_export(args) -> int:
    import warnings

    from ..errors import EventsimError
    from ..interop import export_checkpoint
    from ..egru.model import load_model
    from ..outputs import atomic_path, check_outputs

    check_outputs([("--to", args.out)], [("MODEL", args.model)])
    from ..interop.files import SAFETENSORS_SUFFIXES, TORCH_SUFFIXES
    if not args.out.lower().endswith(SAFETENSORS_SUFFIXES + TORCH_SUFFIXES):
        raise EventsimError(f"--to {args.out!r}: use .safetensors, or .pt/.pth (needs torch)")
    model = load_model(args.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with atomic_path(args.out) as tmp:  # written whole, then renamed onto --to
            tensors = export_checkpoint(model, tmp, layer_prefix=args.prefix,
                                        strict=not args.no_strict)
    for w in caught:
        print(f"eventsim: warning: {w.message}", file=sys.stderr)
    print(f"wrote {args.out}: {len(tensors)} tensors in EvNN layout "
          f"({model.n_layers} layer(s) under {args.prefix!r})")
    return 0
