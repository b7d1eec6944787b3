"""The `hush` command: one thin subcommand per job over the library, grouped by who they serve.

Files: base.py (the registry, flags made from config fields, logging), train.py (train, eval, ensemble), serve.py
(serve, route, ctl, keys), streams.py (publish, subscribe), recordings.py (record, replay), bridges.py
(bridge lsl, bridge mqtt), tools.py (bench, demo).

Library code raises its own errors; only this layer turns them into one-line messages and exit codes: a
HushError exits with its code (2: bad usage or input, 1: a failure such as no daemon answering), an OSError
with 1, Ctrl-C with 130. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse

import hush
from hush import config as hconfig
from hush.cli import bridges, recordings, serve, streams, tools, train  # noqa: F401  (each registers its commands)
from hush.cli.base import COMMANDS, say, setup_logging
from hush.errors import HushError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hush", description="Hush: real-time denoising of 1-D sensor streams.")
    top.add_argument("--version", action="version", version=f"hush {hush.__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help[0].upper() + cmd.help[1:] + ".",
                           epilog=f"example:\n  {cmd.example}", formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", metavar="PATH", help="config file (default: $HUSH_CONFIG or ./config.toml)")
        p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
        cmd.flags(p)
    return top


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, an unknown flag reported with the usage of its command (not the top level's)."""
    top = parser()
    args, extra = top.parse_known_args(argv)
    if extra:
        sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    setup_logging(args.quiet)
    try:
        cfg = hconfig.load(args.config)
        return COMMANDS[args.command].run(args, cfg)
    except HushError as exc:
        say(f"hush {args.command}: error: {exc}")
        return exc.exit_code
    except OSError as exc:
        say(f"hush {args.command}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
