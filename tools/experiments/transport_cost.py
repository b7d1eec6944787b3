"""The transport's own CPU per one-window message (`hush.tools.bench.transport_cost`): the bench's generator and
subscriber through a bare forwarder (one Python thread, SUB in, XPUB out, nothing decoded) at RATE
messages/s for SECONDS. What a daemon that only passed messages on would still cost, with its clients, on
this machine's cores. Run from the repository root:

    .venv/bin/python tools/experiments/transport_cost.py 10000 6
"""

from __future__ import annotations

import json
import sys

from hush.tools import bench


def main() -> None:
    rate, seconds = float(sys.argv[1]), float(sys.argv[2])
    with bench.forwarder() as (inp, out, pid):
        bench.offered_load(inp, out, 200, 1.0, 1)  # warm
        cost = bench.transport_cost(inp, out, pid, rate, seconds)
    print(json.dumps(cost and {k: round(v, 1) for k, v in cost.items()}))


if __name__ == "__main__":
    main()
