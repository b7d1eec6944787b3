"""Live streams: `hush publish` and `hush subscribe`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hush import config as hconfig
from hush.cli.base import command, configured, curve_flags, curve_of, progress, say, settings
from hush.errors import InputError


def run_publish(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.publisher import Publisher
    from hush.clients.subscriber import ErrorWatch
    from hush.samples import iter_text, load_samples

    pc = configured(args, cfg, "publish")
    live = args.file in (None, "-")
    skipped: list[str] = []
    on_bad = None if (args.bad_lines or ("skip" if live else "stop")) == "stop" else lambda e: _skip(e, skipped)
    source: Any = iter_text(sys.stdin, pc.column, "stdin", on_bad) if live else load_samples(args.file, pc.column,
                                                                                            on_bad)
    output = args.output or cfg.subscribe.endpoint
    with ErrorWatch(output, pc.stream, curve_of(args)) as watch, \
            Publisher(pc.endpoint, pc.stream, args.window, pc.form, rate=pc.rate, bind=args.bind, push=args.push,
                      curve=curve_of(args)) as pub:
        hello = watch.hello(2.0)
        if hello is None:
            say(f"note: no daemon hello on {output} (--output: its output endpoint): the window length is not "
                "checked and rejected windows are not counted")
        elif hello.get("window") != args.window:
            raise InputError(f"the daemon at {output} serves windows of {hello.get('window')} samples: every "
                             f"window of --window {args.window} would be rejected")
        pub.wait_connected(pc.connect_timeout_s)
        hop = pc.hop or args.window
        total = None if live else max(0, (len(source) - args.window) // hop + 1)
        with progress(total, "windows") as bar:
            try:
                sent = pub.publish(source, hop=hop, speed=args.speed, tail=args.tail,
                                   on_sent=lambda n: bar.update(1))
            except KeyboardInterrupt:
                say(f"interrupted: published {pub.seq} windows as stream {pc.stream!r} to {pc.endpoint}")
                return 130
        rejected = watch.drain(1.0) if hello else None
    say(f"published {sent} windows of {args.window} samples as stream {pc.stream!r} to {pc.endpoint}")
    if pub.tail and args.tail == "drop":
        say(f"the last {pub.tail} samples fill no whole window and were not sent (--tail pad sends them)")
    if skipped:
        say(f"skipped {len(skipped)} line(s) that held no number; the first: {skipped[0]}")
    if rejected:
        say(f"the daemon rejected {sum(rejected.values())} of them: " + "; ".join(
            f"{code} x{n} ({watch.details[code]})" for code, n in rejected.items()))
        return 1
    return 0


def _skip(error: Exception, skipped: list[str]) -> None:
    skipped.append(str(error))
    if len(skipped) <= 10:
        say(f"warning: skipped {error}" + (" (further ones are counted, not shown)" if len(skipped) == 10 else ""))


@command("publish", "send a live stream (stdin) or a file to the daemon as windows",
         "my_sensor | hush publish --stream pump-3 --rate 360\n  hush publish signal.csv --column ecg --hop 75",
         run_publish)
def _publish(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="a .npy/.csv/.txt file; stdin (one number per line, or CSV) if absent")
    settings(p, "publish", "endpoint", "stream", "hop", "rate", "form", "column")
    p.add_argument("--bind", action="store_true", help="bind instead of connecting (the daemon connects)")
    p.add_argument("--window", type=int, default=150, help="samples per window: the model's W (150); checked "
                   "against the daemon's hello")
    p.add_argument("--output", metavar="ENDPOINT", help="the daemon's output, where its hello and its errors for "
                   "this stream are read (default: [subscribe] endpoint)")
    p.add_argument("--tail", choices=("drop", "pad"), default="drop", help="the samples at the end that fill no "
                   "whole window: drop them (and say so), or pad them into one more window marked 'pad'")
    p.add_argument("--bad-lines", choices=("skip", "stop"), help="a text line that holds no number: skip it with a "
                   "warning, or stop (default: skip on stdin, a live pipe; stop for a file)")
    p.add_argument("--speed", type=float, default=0.0,
                   help="with --rate: pace windows at this multiple of real time (default 0: no pacing)")
    p.add_argument("--push", action="store_true", help="PUSH instead of PUB, for a daemon with --input-type pull")
    curve_flags(p)


def run_subscribe(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.sinks import StitchedSink, open_sink
    from hush.clients.subscriber import Subscriber, receive

    sc = configured(args, cfg, "subscribe")
    with Subscriber(sc.endpoint, sc.prefix, curve=curve_of(args)) as sub:
        hello = sub.wait_ready(args.connect_timeout)
        say(f"subscribed to {sc.prefix or 'every stream'!r} at {sc.endpoint}: model {hello.get('model')}")
        window = int(hello.get("window", 150))  # type: ignore[call-overload]
        sink = StitchedSink(args.out, window, args.hop) if args.stitch else open_sink(args.out, window)
        try:
            count, errors = receive(sub, sink.write, args.count, args.idle_timeout, on_error=lambda m: say(
                f"error {m.body.get('error')} on {m.stream or '?'} seq {m.seq}: {m.body.get('detail')}"))
        except BaseException:
            sink.abort()
            raise
        sink.close()
    written = getattr(sink, "written", [])
    say(f"received {count} windows, {errors} errors" + (f"; one file per stream: {', '.join(map(str, written))}"
                                                        if len(written) > 1 else ""))
    return 0


@command("subscribe", "receive denoised windows (and errors) by stream-id prefix",
         "hush subscribe --prefix pump- --out cleaned.csv\n  hush subscribe --count 100 --out cleaned.npy\n"
         "  hush subscribe --prefix pump-3 --stitch --hop 75 --out pump3.npy   # one seamless signal", run_subscribe)
def _subscribe(p: argparse.ArgumentParser) -> None:
    settings(p, "subscribe", "endpoint", "prefix")
    p.add_argument("--out", help="a .csv, .jsonl or .npy file (default: JSON lines on stdout)")
    p.add_argument("--stitch", action="store_true",
                   help="rebuild one continuous stream per stream id by overlap-add (windows every --hop samples)")
    p.add_argument("--hop", type=int, help="with --stitch: the publisher's hop, for streams without t and rate "
                   "(default: read from each stream's t and rate, else W); one the stream contradicts is an error")
    p.add_argument("--count", type=int, default=0, help="stop after this many windows")
    p.add_argument("--idle-timeout", type=float, default=0.0, help="stop after this many seconds of silence")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the daemon")
    curve_flags(p)
