"""Sample polytope matrices from a trained sequence model.

    python -m agents.sequence.sample --checkpoint runs/X/model.pt --n 1000 --seed 0 \
        --out samples.txt [--temperature 1.0] [--top-k K] [--grammar-mask] [--batch-size B]

Writes one blank-line-separated block per sample, in order, in the integer-matrix format
that ``python -m envs.polytopes.check FILE`` reads. A sample that does not decode is still
written, as one line of its raw token names (``<start> 1 0 <row> ...``), which the checker
reports as not parseable -- nothing is dropped, so block ``i`` is sample ``i``. Also
writes ``FILE.tokens.npy`` (``int64 [n, max_length]``, the raw token ids) and prints the
number of samples, how many decode, and samples/s.

Defaults are the paper's plain ancestral sampling: temperature 1, no top-k, no grammar
mask. ``--checkpoint`` takes a training ``checkpoint.pt`` or an exported ``model.pt``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from agents.common import select_device
from agents.sequence.model import load_model
from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes.tokens import ParseError, Tokenizer

__all__ = ["format_samples", "main"]


def format_samples(tokens: np.ndarray, tokenizer: Tokenizer) -> tuple[str, int]:
    """The text of all blocks and the number of samples that decode."""
    blocks: list[str] = []
    decoded = 0
    for row in tokens:
        try:
            matrix = tokenizer.decode(row)
        except ParseError:
            end = np.flatnonzero(row != 0)
            shown = row[: int(end[-1]) + 1] if end.size else row[:1]
            blocks.append(tokenizer.render(shown))
            continue
        decoded += 1
        blocks.append("\n".join(" ".join(str(int(v)) for v in line) for line in matrix))
    return "\n\n".join(blocks) + ("\n" if blocks else ""), decoded


LOAD_ERRORS = (ValueError, RuntimeError, KeyError, EOFError, pickle.UnpicklingError)


def load_for_cli(path: str | os.PathLike[str], device: str | torch.device = "cpu"):
    """:func:`load_model`, with a file that is not a sequence-model checkpoint a UsageError."""
    try:
        return load_model(path, device=device)
    except LOAD_ERRORS as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UsageError(f"{path}: cannot load a sequence-model checkpoint ({first})") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m agents.sequence.sample",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint.pt or model.pt")
    parser.add_argument("--n", type=int, default=1000, help="number of samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output text file")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--grammar-mask", action="store_true", help="mask ungrammatical tokens")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--num-threads", type=int, default=1)
    ns = parser.parse_args(argv)
    if ns.n < 1 or ns.batch_size < 1:
        raise UsageError("--n and --batch-size must be positive")
    if ns.temperature < 0 or (ns.top_k is not None and ns.top_k < 1):
        raise UsageError("--temperature must be >= 0 and --top-k >= 1")
    path = Path(ns.checkpoint)
    if not path.is_file():
        raise UsageError(f"{path}: no such checkpoint")
    if ns.num_threads:
        torch.set_num_threads(ns.num_threads)
    device = select_device(ns.device)
    model, tokenizer, _ = load_for_cli(path, device)
    generator = torch.Generator(device=device if device.type == "cuda" else "cpu")
    generator.manual_seed(ns.seed)
    begin = time.perf_counter()
    samples = model.sample(
        ns.n,
        generator=generator,
        temperature=ns.temperature,
        top_k=ns.top_k,
        grammar=tokenizer if ns.grammar_mask else None,
        batch_size=ns.batch_size,
    )
    seconds = time.perf_counter() - begin
    tokens = samples.cpu().numpy().astype(np.int64)
    text, decoded = format_samples(tokens, tokenizer)
    out = Path(ns.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    np.save(out.with_name(out.name + ".tokens.npy"), tokens)
    print(
        f"{ns.n} samples ({decoded} decode) in {seconds:.1f} s: "
        f"{ns.n / max(seconds, 1e-9):.1f} samples/s; wrote {out}"
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
