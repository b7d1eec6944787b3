"""`hush bench` and `hush demo`: the commands over the tooling in hush.tools."""

from __future__ import annotations

import argparse

from hush import config as hconfig
from hush.cli.base import command, configured, settings


def run_bench(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.daemon.server import resolve_workers
    from hush.tools import bench, model_timing, overload

    sc = configured(args, cfg, "serve")
    model = args.model  # None: the shipped default
    workers = resolve_workers(sc.workers)
    if args.overload:
        overload.overload(args.overload, args.out_dir, model)
    elif args.soak:
        from hush.tools.soak import soak

        soak(args.soak, args.out_dir, model, streams=args.streams or 1000)
    elif args.hot_stream or (args.streams and not args.order):
        from hush.tools.streams import streams

        streams(args.streams or 500, args.seconds if args.seconds != 4.0 else 30.0, args.hot_stream, args.out_dir,
                model, ["--engine", sc.engine, "--workers", str(workers)])
    elif args.models:
        model_timing.compare_models(args.models, sc.max_batch, workers)
    elif args.order:
        from hush.tools.ordering import order

        order(args.order, out_dir=args.out_dir, model=model, streams=args.streams or 4)
    elif args.scale_out:
        overload.scale_out(args.scale_out, out_dir=args.out_dir, model=model)
    else:
        bench.bench(args.out_dir, model, sc.max_batch, sc.max_wait_ms, args.seconds, args.quick,
                    ["--engine", sc.engine, "--workers", str(workers), "--intra-op-threads", str(sc.intra_op_threads)],
                    workers)
    return 0


@command("bench", "measure the model, the daemon and the whole path on this machine; print ratios",
         "hush bench --out-dir bench-out\n  hush bench --quick --max-batch 128\n  hush bench --overload 60\n"
         "  hush bench --models old.keras new.keras\n  hush bench --scale-out 2\n  hush bench --order 3\n"
         "  hush bench --soak 1800\n  hush bench --streams 5000\n  hush bench --hot-stream",
         run_bench)
def _bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="bench-out", help="where bench.json and latency.png go")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each offered-load run")
    p.add_argument("--quick", action="store_true", help="fewer load points (about a minute)")
    settings(p, "serve", "model", "max_batch", "max_wait_ms", "engine", "intra_op_threads", "workers")
    p.add_argument("--overload", type=float, metavar="SECONDS",
                   help="instead: 3x capacity for SECONDS, then a light load; memory, drops, latency, recovery")
    p.add_argument("--soak", type=float, metavar="SECONDS",
                   help="instead: 0.7x capacity on many streams for SECONDS; memory and latency per minute, slopes")
    p.add_argument("--streams", type=int, help="instead: N streams at 360 samples/s each for --seconds (default "
                   "30), zero loss or not; with --hot-stream: the quiet streams (default 500); with --soak: distinct "
                   "stream ids (default 1000); with --order: streams sharing the load (default 4)")
    p.add_argument("--hot-stream", action="store_true",
                   help="instead: one stream at 3x the model's rate while --streams others send at 360 samples/s; "
                        "the others must lose nothing")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="instead: each model alone at its best setting, windows/s as a ratio to the first")
    p.add_argument("--scale-out", type=int, metavar="N",
                   help="instead: throughput of 1 daemon and of N daemons sharing one PUSH input")
    p.add_argument("--order", type=int, metavar="N",
                   help="instead: order per stream across N daemons, by PUSH fan-out and through hush route")


def run_demo(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.tools.demo import demo

    return demo(args.out_dir, args.model)


@command("demo", "the whole chain on the shipped model and recording: serve, replay, subscribe, plot",
         "hush demo --out-dir demo-out", run_demo)
def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="demo-out", help="where the picture and the received stream go")
    p.add_argument("--model", help="model file (default: the shipped default model)")
