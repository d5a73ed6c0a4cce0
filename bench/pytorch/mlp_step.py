"""PyTorch's side of bench/pytorch-step.ts: one SGD training step of an MLP, timed by PyTorch's process.

Usage: python3 bench/pytorch/mlp_step.py SIZES BATCH THREADS STEPS ROUNDS
       (SIZES as 784,1200,1200,10). Prints one JSON line: the mean seconds per step of the best
round (ROUNDS rounds of STEPS steps, after STEPS warm-up steps), with PyTorch's version and
thread count. Report only: no test runs this, and nothing needs PyTorch (Debian: python3-torch).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def main() -> None:
    sizes = [int(s) for s in sys.argv[1].split(",")]
    batch, threads, steps, rounds = (int(a) for a in sys.argv[2:6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))

    def step() -> float:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(steps):
        step()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - t0) / steps)
    print(json.dumps({"secondsPerStep": best, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
