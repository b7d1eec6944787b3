"""Recordings: `hush record` and `hush replay`."""

from __future__ import annotations

import argparse
import time

from hush import config as hconfig
from hush.cli.base import command, configured, progress, say, settings


def run_record(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.recording import record

    rc = configured(args, cfg, "record")
    end = time.monotonic() + args.duration if args.duration else None

    def ready(hello: dict[str, object] | None) -> None:
        how = "bound" if args.bind else (f"model {hello.get('model')}" if hello else "no !ready from a daemon yet")
        say(f"recording {rc.endpoint} ({how}) into {args.out}; Ctrl-C stops")

    try:
        n = record(rc.endpoint, args.out, rc.prefix, args.bind, max_messages=args.count, on_ready=ready,
                   should_stop=lambda: end is not None and time.monotonic() >= end)
    except KeyboardInterrupt:
        n = -1
    say(f"recorded {'some' if n < 0 else n} messages into {args.out}")
    return 0


@command("record", "capture messages (raw input or denoised output) into a .hushrec file",
         "hush record out.hushrec --duration 60\n"
         "  hush record raw.hushrec --bind --endpoint tcp://127.0.0.1:5557   # sensors publish here", run_record)
def _record(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="recording file to write (.hushrec)")
    settings(p, "record", "endpoint", "prefix")
    p.add_argument("--bind", action="store_true", help="bind and let publishers connect (to record raw input)")
    p.add_argument("--count", type=int, default=0, help="stop after this many messages")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds")


def run_replay(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.replay import replay_recording, replay_signal

    rc = configured(args, cfg, "replay")
    recording, xdf = args.file.endswith(".hushrec"), args.file.endswith(".xdf")
    total = _count(args.file) if recording and not args.loop else None
    sent = [0]
    with progress(total, "messages") as bar:
        def count(n: int) -> None:
            sent[0] += 1
            bar.update(1)

        try:
            if xdf:
                from hush.clients.xdf import replay_xdf

                replay_xdf(args.file, rc.endpoint, rc.speed, args.window, args.hop or 0, args.form, args.bind,
                           args.push, on_sent=count, say=say)
            elif recording:
                replay_recording(args.file, rc.endpoint, rc.speed, args.loop, args.bind, push=args.push,
                                 on_sent=count)
            else:
                replay_signal(args.file, rc.endpoint, args.stream, rc.rate, rc.speed, args.window, args.hop or 0,
                              args.form, args.loop, args.bind, args.column, push=args.push, on_sent=count)
        except KeyboardInterrupt:
            say(f"interrupted: replayed {sent[0]} messages to {rc.endpoint}")
            return 130
    say(f"replayed {sent[0]} messages to {rc.endpoint}")
    return 0


def _count(path: str) -> int | None:
    """Records in a recording, for the progress bar (None when it cannot be read through: replay says why)."""
    from hush.clients.recording import RecordingError, read_recording

    try:
        return sum(1 for _ in read_recording(path)[1])
    except RecordingError:
        return None


@command("replay", "re-publish a recording (.hushrec, or LabRecorder's .xdf), or a .npy/.csv signal, at its pace, "
         "faster, or at once",
         "hush replay data/demo.hushrec --speed 4\n  hush replay signal.npy --rate 360 --stream ecg --loop\n"
         "  hush replay session.xdf --hop 75     # one stream per channel: xdf/<name>/<label>", run_replay)
def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .hushrec recording, an .xdf recording (LSL), or a .npy/.csv/.txt signal")
    settings(p, "replay", "endpoint", "speed", "rate")
    p.add_argument("--bind", action="store_true", help="bind instead of connecting")
    p.add_argument("--push", action="store_true", help="PUSH instead of PUB, for a daemon with --input-type pull "
                   "(lossless: sends wait while the daemon is behind)")
    p.add_argument("--loop", action="store_true", help="start again at the end, until interrupted")
    p.add_argument("--stream", default="replay", help="a signal file's stream id")
    p.add_argument("--window", type=int, default=150)
    p.add_argument("--hop", type=int, help="a signal or .xdf file's samples between windows (default W)")
    p.add_argument("--form", default="bin-f8", choices=("array", "bin-f4", "bin-f8"))
    p.add_argument("--column", default="0", help="a CSV file's column")
