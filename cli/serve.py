"""`hush serve`, `hush route` (several daemons behind one input), and the commands that act on a running daemon
or its security: `hush ctl`, `hush keys`."""

from __future__ import annotations

import argparse
import json
import os

from hush import config as hconfig
from hush.cli.base import command, configured, settings, setup_logging
from hush.errors import InputError

SERVE_SETTINGS = ("model", "input", "output", "input_mode", "output_mode", "input_type", "max_batch",
                  "max_wait_ms", "engine", "workers", "intra_op_threads", "inter_op_threads", "metrics_port",
                  "control", "log_format")


def run_serve(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.daemon.server import Server

    sc = configured(args, cfg, "serve")
    setup_logging(args.quiet, sc.log_format)
    return Server(sc).run()


@command("serve", "run the denoising daemon: windows in on one socket, denoised windows out on another",
         "hush serve --model models/default.keras --input tcp://127.0.0.1:5555 --output tcp://127.0.0.1:5556",
         run_serve)
def _serve(p: argparse.ArgumentParser) -> None:
    settings(p, "serve", *SERVE_SETTINGS)


def run_route(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    import signal

    from hush.daemon.router import Router

    rc = configured(args, cfg, "route")
    setup_logging(args.quiet, "text")
    router = Router(rc)

    def stop(sig: int, frame: object) -> None:
        router.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    return router.run()


@command("route", "one input in front of several daemons, each stream kept on one daemon (answers in seq order)",
         "hush serve --input-type pull --input tcp://127.0.0.1:5600 --output tcp://127.0.0.1:5601 &\n"
         "  hush serve --input-type pull --input tcp://127.0.0.1:5610 --output tcp://127.0.0.1:5611 &\n"
         "  hush route --daemons tcp://127.0.0.1:5600=tcp://127.0.0.1:5601 tcp://127.0.0.1:5610=tcp://127.0.0.1:5611",
         run_route)
def _route(p: argparse.ArgumentParser) -> None:
    settings(p, "route", "input", "input_type", "output", "daemons", "heartbeat_s", "stats_interval_s")


def run_ctl(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.control import request

    endpoint = args.endpoint or cfg.serve.control
    if not endpoint:
        raise InputError("no control endpoint: give --endpoint, or set [serve] control in the config (the daemon "
                         "must run with --control)")
    # The daemon resolves a relative path in its own directory, which is not the user's.
    model = os.path.abspath(args.model) if args.model else None
    timeout = args.timeout or (120.0 if args.cmd == "reload" else 10.0)  # a reload warms every engine first
    reply = request(endpoint, args.cmd, timeout, model=model)
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


@command("ctl", "send a control command to a running daemon: reload its model, or read its counters",
         "hush ctl reload --model models/new.keras\n  hush ctl stats --endpoint tcp://127.0.0.1:5557", run_ctl)
def _ctl(p: argparse.ArgumentParser) -> None:
    p.add_argument("cmd", choices=("reload", "stats"))
    p.add_argument("--model", help="reload: the model file (default: the one the daemon was started with)")
    p.add_argument("--endpoint", help="the daemon's control endpoint (default: [serve] control)")
    p.add_argument("--timeout", type=float, help="seconds to wait for the answer (default: 10; reload 120)")


def run_keys(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.security import make_keys

    for name in args.names:
        public, secret = make_keys(args.dir, name, force=args.force)
        print(f"{name}: public {public} (share it), secret {secret} (keep it)")
    return 0


@command("keys", "make CURVE key pairs for the daemon and its clients",
         "hush keys keys/ server pump-3 dashboard\n  cp keys/pump-3.key allowed/   # let pump-3 in", run_keys)
def _keys(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="directory for the key files")
    p.add_argument("names", nargs="+", help="one key pair per name")
    p.add_argument("--force", action="store_true", help="replace existing key pairs (their peers are locked out)")
