"""A character-level LSTM language model on a text file (default: tinyshakespeare).

Stateful training: the text is cut into --batch parallel streams, and each step trains on the
next --seq-len characters of every stream, starting from the hidden state the previous step
ended with (carried over, not backpropagated through). Prints the loss curve against the
unigram entropy of the text (the loss of a model that ignores context), then samples text with
a temperature.

    python examples/char_lstm.py [TEXT] [--steps 300] [--hidden 128] [--temperature 0.8]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn import nn, optim

DEFAULT_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tinyshakespeare" / "input.txt"


class CharLM(nn.Module):
    """Embedding -> LSTM -> Linear over a time-major (T, N) batch of character ids."""

    def __init__(self, vocab, embed=32, hidden=128, rng=None):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed, rng=rng)
        self.lstm = nn.LSTM(embed, hidden, rng=rng)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, ids, state=None):
        """ids (T, N) int64 -> (logits (T*N, vocab), state)."""
        e = self.embed(ids)                             # (T, N, E)
        out, state = self.lstm(e, state)                # (T, N, H)
        self._shape = out.shape
        return self.head(out.reshape(-1, out.shape[2])), state

    def backward(self, dlogits):
        dout = self.head.backward(dlogits).reshape(self._shape)
        self.embed.backward(self.lstm.backward(dout))


def sample(model, vocab_chars, start_id, length, temperature, rng, state=None):
    """Generate `length` characters, feeding each sampled character back in."""
    ids, out = np.array([[start_id]], np.int64), []
    for _ in range(length):
        logits, state = model(ids, state)
        z = logits[-1].astype(np.float64) / temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        nxt = rng.choice(len(p), p=p)
        out.append(vocab_chars[nxt])
        ids = np.array([[nxt]], np.int64)
    return "".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default=str(DEFAULT_TEXT), help="a UTF-8 text file")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--sample", type=int, default=300, help="characters to sample at the end")
    parser.add_argument("--backend", choices=["compiled", "reference"], default="compiled")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        text = Path(args.text).read_text(encoding="utf-8")
    except OSError as err:
        print(f"char_lstm: {err}", file=sys.stderr)
        return 2
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = np.array([index[c] for c in text], np.int64)
    counts = np.bincount(data, minlength=len(chars)) / len(data)
    unigram = float(-(counts[counts > 0] * np.log(counts[counts > 0])).sum())

    fastnn.use_backend(args.backend)
    rng = np.random.default_rng(args.seed)
    model = CharLM(len(chars), hidden=args.hidden, rng=rng)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=args.lr)

    # --batch streams, each a contiguous stretch of the text, read seq_len characters per step
    stream_len = (len(data) - 1) // args.batch
    streams = data[:stream_len * args.batch + 1]
    starts = np.arange(args.batch) * stream_len
    steps_per_pass = (stream_len - 1) // args.seq_len
    state, losses = None, []
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=args.steps, desc="training", unit="step")
    t0 = time.perf_counter()
    for step in range(args.steps):
        k = step % steps_per_pass
        if k == 0:
            state = None                                  # a new pass over the text
        pos = starts[None, :] + k * args.seq_len + np.arange(args.seq_len)[:, None]   # (T, N)
        x, y = streams[pos], streams[pos + 1]
        logits, state = model(x, state)
        loss = loss_fn(logits, y.reshape(-1))
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        losses.append(float(loss))
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    if bar:
        bar.close()
    elapsed = time.perf_counter() - t0
    print(f"{len(text)} characters, vocabulary {len(chars)}, unigram entropy {unigram:.3f} nats/char")
    every = max(1, args.steps // 10)
    for i in range(0, args.steps, every):
        window = losses[i:i + every]
        print(f"steps {i + 1:5d}-{i + len(window):5d}: loss {np.mean(window):.3f}")
    final = float(np.mean(losses[-every:]))
    print(f"final loss {final:.3f} nats/char vs unigram {unigram:.3f} "
          f"({args.steps} steps, {elapsed:.1f} s on the {args.backend} backend)")
    if args.sample > 0:
        print("--- sample (temperature %.2f) ---" % args.temperature)
        print(sample(model, chars, index["\n"] if "\n" in index else 0, args.sample,
                     args.temperature, np.random.default_rng(args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
