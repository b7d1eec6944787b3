"""The `hush` command: one thin subcommand per job over the library. Library code raises its own errors;
only this layer turns them into one-line messages and exit codes (2: bad usage or input, 1: failure)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from hush import config as hconfig

Handler = Callable[[argparse.Namespace, hconfig.Config], int]
COMMANDS: dict[str, tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help: str, example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand: `help` for the list, `example` shown at the end of its --help."""
    def wrap(setup: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS[name] = (help, example, setup, setup.handler)  # type: ignore[attr-defined]
        return setup
    return wrap


def handles(handler: Handler) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(setup: Callable[..., Any]) -> Callable[..., Any]:
        setup.handler = handler  # type: ignore[attr-defined]
        return setup
    return wrap


def flags(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names}


# --- train -------------------------------------------------------------------------------------------------

def run_train(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.trainer.train import PRESETS, train

    tc = cfg.train
    preset = args.preset or tc.preset
    if preset != tc.preset or PRESETS[preset]:
        tc = hconfig.build_section(hconfig.TrainConfig, {"preset": preset, **PRESETS[preset]},
                                   f"preset {preset!r}", base=tc)
    tc = hconfig.override(tc, flags(args, "out", "epochs", "n_windows", "seed", "batch_size", "window",
                                    "checkpoint_dir", "tensorboard_dir", "column", "noise_file", "noise_column",
                                    "noise"))
    train(tc, clean_path=args.clean, noisy_path=args.noisy, pairs=tuple(args.pairs) if args.pairs else None,
          init=args.init)
    return 0


@command("train", "train a denoising model and write one self-contained .keras file",
         "hush train --out models/default.keras\n  hush train --preset seed --out seed.keras\n"
         "  hush train --clean my_sensor.npy --out my_sensor.keras\n"
         "  hush train --noisy sensor.csv --column vibration --out mine.keras      # no clean reference\n"
         "  hush train --clean ten_minutes.npy --init models/default.keras --out mine.keras")
@handles(run_train)
def _train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=("default", "seed"), help="recipe: 'seed' is the tutorial exactly")
    p.add_argument("--out", help="model file to write (its report goes to <name>-report/ beside it)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--clean", metavar="FILE", help="train on your own clean recording (.npy or .csv column)")
    source.add_argument("--noisy", metavar="FILE", help="train on a noisy recording alone (self-supervised: "
                        "removes noise that is independent from sample to sample)")
    source.add_argument("--pairs", nargs=2, metavar=("NOISY", "CLEAN"),
                        help="train on a noisy recording and an aligned clean reference of the same signal")
    p.add_argument("--init", metavar="MODEL", help="fine-tune this Hush model (e.g. models/default.keras) "
                   "instead of starting from random weights; its window and scaling are kept")
    p.add_argument("--column", help="the recording's CSV column (a header name or 0-based index)")
    p.add_argument("--noise", nargs="+", metavar="KIND",
                   help="noise kinds to add (trainer/noise.py; default: config's [train] noise, 'mix')")
    p.add_argument("--noise-file", metavar="FILE",
                   help="your sensor's noise recorded with no signal: its segments are the noise added")
    p.add_argument("--noise-column", help="the noise file's CSV column")
    p.add_argument("--epochs", type=int)
    p.add_argument("--n-windows", type=int, help="synthetic windows to make")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--window", type=int, help="samples per window (W)")
    p.add_argument("--seed", type=int)
    p.add_argument("--checkpoint-dir", help="save training state there each epoch; rerun to resume")
    p.add_argument("--tensorboard-dir", help="write TensorBoard logs there")


# --- serve -------------------------------------------------------------------------------------------------

def run_serve(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.daemon.server import Server

    sc = hconfig.override(cfg.serve, flags(args, "model", "input", "output", "input_mode", "output_mode",
                                           "input_type", "max_batch", "max_wait_ms", "engine", "workers",
                                           "intra_op_threads", "inter_op_threads", "metrics_port", "control",
                                           "log_format"))
    setup_logging(args.quiet, sc.log_format)
    return Server(sc).run()


@command("serve", "run the denoising daemon: windows in on one socket, denoised windows out on another",
         "hush serve --model models/default.keras --input tcp://127.0.0.1:5555 --output tcp://127.0.0.1:5556")
@handles(run_serve)
def _serve(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (default: the shipped models/default.keras)")
    p.add_argument("--input", help="input endpoint (SUB; sensors connect PUB sockets to it)")
    p.add_argument("--output", help="output endpoint (PUB; subscribers connect to it)")
    p.add_argument("--input-mode", choices=("bind", "connect"))
    p.add_argument("--output-mode", choices=("bind", "connect"))
    p.add_argument("--input-type", choices=("sub", "pull"), help="pull: lossless input from PUSH senders")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on 127.0.0.1 at this port")
    p.add_argument("--control", help="bind a control endpoint (REP) for `hush ctl`")
    p.add_argument("--log-format", choices=("text", "json"))
    p.add_argument("--max-batch", type=int, help="windows per model call at most")
    p.add_argument("--max-wait-ms", type=float, help="longest a window waits for a batch to fill")
    p.add_argument("--engine", choices=("auto", "lite", "xla", "graph"),
                   help="what runs the model (auto: time all per batch size)")
    p.add_argument("--workers", type=int, help="model threads, each on its own batch (0: one per core)")
    p.add_argument("--intra-op-threads", type=int, help="TensorFlow threads per op (0: automatic)")
    p.add_argument("--inter-op-threads", type=int, help="TensorFlow ops at once (0: TensorFlow chooses)")


# --- publish -----------------------------------------------------------------------------------------------

def run_publish(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.publisher import Publisher
    from hush.samples import iter_text, load_samples

    pc = hconfig.override(cfg.publish, flags(args, "endpoint", "stream", "hop", "rate", "form", "column"))
    curve = (args.curve_key, args.curve_server_key) if args.curve_key else None
    with Publisher(pc.endpoint, pc.stream, args.window, pc.form, rate=pc.rate, bind=args.bind, push=args.push,
                   curve=curve) as pub:
        pub.wait_connected(pc.connect_timeout_s)
        if args.file in (None, "-"):
            source: Any = iter_text(sys.stdin, pc.column, "stdin")
        else:
            source = load_samples(args.file, pc.column)
        sent = pub.publish(source, hop=pc.hop, speed=args.speed)
    print(f"published {sent} windows of {args.window} samples as stream {pc.stream!r} to {pc.endpoint}",
          file=sys.stderr)
    return 0


@command("publish", "send a live stream (stdin) or a file to the daemon as windows",
         "my_sensor | hush publish --stream pump-3 --rate 360\n  hush publish signal.csv --column ecg --hop 75")
@handles(run_publish)
def _publish(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", help="a .npy/.csv/.txt file; stdin (one number per line, or CSV) if absent")
    p.add_argument("--endpoint", help="the daemon's input endpoint")
    p.add_argument("--bind", action="store_true", help="bind instead of connecting (the daemon connects)")
    p.add_argument("--stream", help="stream id (topic)")
    p.add_argument("--window", type=int, default=150, help="samples per window: the model's W (150)")
    p.add_argument("--hop", type=int, help="samples between window starts (default W; W/2 overlaps)")
    p.add_argument("--rate", type=float, help="samples per second, stamped as rate and t")
    p.add_argument("--form", choices=("array", "bin-f4", "bin-f8"), help="how samples travel")
    p.add_argument("--column", help="CSV column: a 0-based index or a header name")
    p.add_argument("--speed", type=float, default=0.0,
                   help="with --rate: pace windows at this multiple of real time (default 0: no pacing)")
    p.add_argument("--push", action="store_true", help="PUSH instead of PUB, for a daemon with --input-type pull")
    curve_flags(p)


# --- subscribe ---------------------------------------------------------------------------------------------

def run_subscribe(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.sinks import StitchedSink, open_sink
    from hush.clients.subscriber import Subscriber

    sc = hconfig.override(cfg.subscribe, flags(args, "endpoint", "prefix"))
    count = errors = 0
    curve = (args.curve_key, args.curve_server_key) if args.curve_key else None
    with Subscriber(sc.endpoint, sc.prefix, curve=curve) as sub:
        hello = sub.wait_ready(args.connect_timeout)
        print(f"subscribed to {sc.prefix or 'every stream'!r} at {sc.endpoint}: model {hello.get('model')}",
              file=sys.stderr)
        window = int(hello.get("window", 150))  # type: ignore[call-overload]
        sink = StitchedSink(args.out, window, args.hop or window) if args.stitch else open_sink(args.out, window)
        try:
            while not (args.count and count >= args.count):
                msg = sub.recv(args.idle_timeout or None)
                if msg is None:
                    break
                if msg.is_error:
                    errors += 1
                    print(f"error {msg.body.get('error')} on {msg.stream or '?'} seq {msg.seq}: "
                          f"{msg.body.get('detail')}", file=sys.stderr)
                    continue
                sink.write(msg)
                count += 1
        except KeyboardInterrupt:
            pass
        finally:
            sink.close()
    print(f"received {count} windows, {errors} errors", file=sys.stderr)
    return 0


@command("subscribe", "receive denoised windows (and errors) by stream-id prefix",
         "hush subscribe --prefix pump- --out cleaned.csv\n  hush subscribe --count 100 --out cleaned.npy\n"
         "  hush subscribe --prefix pump-3 --stitch --hop 75 --out pump3.npy   # one seamless signal")
@handles(run_subscribe)
def _subscribe(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", help="the daemon's output endpoint")
    p.add_argument("--prefix", help="stream-id prefix (default: every stream)")
    p.add_argument("--out", help="a .csv, .jsonl or .npy file (default: JSON lines on stdout)")
    p.add_argument("--stitch", action="store_true",
                   help="rebuild one continuous stream per stream id by overlap-add (windows every --hop samples)")
    p.add_argument("--hop", type=int, help="with --stitch: the publisher's hop (default: W, no overlap)")
    p.add_argument("--count", type=int, default=0, help="stop after this many windows")
    p.add_argument("--idle-timeout", type=float, default=0.0, help="stop after this many seconds of silence")
    p.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the daemon")
    curve_flags(p)


# --- record / replay ---------------------------------------------------------------------------------------

def run_record(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.recording import record

    rc = hconfig.override(cfg.record, flags(args, "endpoint", "prefix"))
    end = time.monotonic() + args.duration if args.duration else None

    def ready(hello: dict[str, object] | None) -> None:
        how = "bound" if args.bind else (f"model {hello.get('model')}" if hello else "no !ready from a daemon yet")
        print(f"recording {rc.endpoint} ({how}) into {args.out}; Ctrl-C stops", file=sys.stderr, flush=True)

    try:
        n = record(rc.endpoint, args.out, rc.prefix, args.bind, max_messages=args.count, on_ready=ready,
                   should_stop=lambda: end is not None and time.monotonic() >= end)
    except KeyboardInterrupt:
        n = -1
    print(f"recorded {'some' if n < 0 else n} messages into {args.out}", file=sys.stderr)
    return 0


@command("record", "capture messages (raw input or denoised output) into a .hushrec file",
         "hush record out.hushrec --duration 60\n"
         "  hush record raw.hushrec --bind --endpoint tcp://127.0.0.1:5557   # sensors publish here")
@handles(run_record)
def _record(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="recording file to write (.hushrec)")
    p.add_argument("--endpoint", help="what to record (default: the daemon's output)")
    p.add_argument("--bind", action="store_true", help="bind and let publishers connect (to record raw input)")
    p.add_argument("--prefix", help="topic prefix to record (default: all)")
    p.add_argument("--count", type=int, default=0, help="stop after this many messages")
    p.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds")


def run_replay(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.replay import replay_recording, replay_signal

    rc = hconfig.override(cfg.replay, flags(args, "endpoint", "speed", "rate"))
    if args.file.endswith(".hushrec"):
        n = replay_recording(args.file, rc.endpoint, rc.speed, args.loop, args.bind)
    else:
        n = replay_signal(args.file, rc.endpoint, args.stream, rc.rate, rc.speed, args.window, args.hop or 0,
                          args.form, args.loop, args.bind, args.column)
    print(f"replayed {n} messages to {rc.endpoint}", file=sys.stderr)
    return 0


@command("replay", "re-publish a recording, or a .npy/.csv signal, at its pace, faster, or at once",
         "hush replay data/demo.hushrec --speed 4\n  hush replay signal.npy --rate 360 --stream ecg --loop")
@handles(run_replay)
def _replay(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a .hushrec recording, or a .npy/.csv/.txt signal")
    p.add_argument("--endpoint", help="where to send (default: the daemon's input)")
    p.add_argument("--bind", action="store_true", help="bind instead of connecting")
    p.add_argument("--speed", type=float, help="1: recorded pace; 2: twice as fast; 0: as fast as possible")
    p.add_argument("--loop", action="store_true", help="start again at the end, until interrupted")
    p.add_argument("--rate", type=float, help="a signal file's samples per second")
    p.add_argument("--stream", default="replay", help="a signal file's stream id")
    p.add_argument("--window", type=int, default=150)
    p.add_argument("--hop", type=int, help="a signal file's samples between windows (default W)")
    p.add_argument("--form", default="bin-f8", choices=("array", "bin-f4", "bin-f8"))
    p.add_argument("--column", default="0", help="a CSV file's column")


# --- eval --------------------------------------------------------------------------------------------------

def run_eval(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.paths import DEFAULT_MODEL
    from hush.trainer.scorecard import run_eval as evaluate

    evaluate(args.model or DEFAULT_MODEL, args.snr, args.windows, args.clean,
             tuple(args.pairs) if args.pairs else None, args.out_dir, kinds=args.noise, families=args.families,
             fixed_level=args.fixed_level, noise_file=args.noise_file, column=args.column or "")
    return 0


@command("eval", "score a model (RMSE, SNR gain, PRD) against classical filters tuned on the same windows",
         "hush eval models/default.keras --snr 0 10 20 30\n"
         "  hush eval --noise white hum spikes --families held-out --fixed-level\n"
         "  hush eval ecg.keras --clean data/ecg_mitbih208.npy\n  hush eval mine.keras --pairs clean.npy noisy.npy")
@handles(run_eval)
def _eval(p: argparse.ArgumentParser) -> None:
    from hush.trainer.noise import KINDS

    p.add_argument("model", nargs="?", help="model file (default: the shipped models/default.keras)")
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0, 20.0, 30.0], help="input SNRs, dB")
    p.add_argument("--windows", type=int, default=2000, help="synthetic windows per set, kind and SNR")
    p.add_argument("--noise", nargs="+", choices=[*KINDS, "file"], metavar="KIND",
                   help=f"noise kinds to score, one table each (default: all of {', '.join(KINDS)})")
    p.add_argument("--families", choices=("held-out", "trained", "both"), default="both",
                   help="synthetic windows from families no model trained on, the model's own, or both")
    p.add_argument("--noise-file", metavar="FILE", help="your sensor's noise recorded alone: its last "
                   "test_fraction is cut into segments and added at each SNR (the 'file' table)")
    p.add_argument("--column", help="--clean file's CSV column (a header name or 0-based index)")
    p.add_argument("--fixed-level", action="store_true",
                   help="one noise power for all windows (set by --snr over all of them) while amplitudes vary")
    p.add_argument("--clean", metavar="FILE", help="score on the held-out tail of this clean recording")
    p.add_argument("--pairs", nargs=2, metavar=("CLEAN", "NOISY"), help="score on your own clean/noisy pairs")
    p.add_argument("--out-dir", default="eval-out", help="where eval.json and eval.png go")


# --- bench -------------------------------------------------------------------------------------------------

def run_bench(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.bench import bench
    from hush.daemon.server import resolve_workers

    if args.overload:
        from hush.overload import overload

        overload(args.overload, args.out_dir, args.model)
        return 0
    if args.models:
        from hush.bench import compare_models

        compare_models(args.models, args.max_batch or cfg.serve.max_batch,
                       resolve_workers(cfg.serve.workers if args.workers is None else args.workers))
        return 0
    if args.scale_out:
        from hush.overload import scale_out

        scale_out(args.scale_out, out_dir=args.out_dir, model=args.model)
        return 0

    workers = resolve_workers(cfg.serve.workers if args.workers is None else args.workers)
    bench(args.out_dir, args.model, args.max_batch or cfg.serve.max_batch,
          cfg.serve.max_wait_ms if args.max_wait_ms is None else args.max_wait_ms, args.seconds, args.quick,
          ["--engine", args.engine or cfg.serve.engine, "--workers", str(workers), "--intra-op-threads",
           str(cfg.serve.intra_op_threads if args.intra_op_threads is None else args.intra_op_threads)], workers)
    return 0


@command("bench", "measure the model, the daemon and the whole path on this machine; print ratios",
         "hush bench --out-dir bench-out\n  hush bench --quick --max-batch 128\n  hush bench --overload 60\n"
         "  hush bench --models old.keras new.keras\n"
         "  hush bench --scale-out 2")
@handles(run_bench)
def _bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="bench-out", help="where bench.json and latency.png go")
    p.add_argument("--model", help="model file (default: the shipped models/default.keras)")
    p.add_argument("--max-batch", type=int, help="the daemon's max_batch (default: config)")
    p.add_argument("--max-wait-ms", type=float, help="the daemon's max_wait_ms (default: config)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each offered-load run")
    p.add_argument("--quick", action="store_true", help="fewer load points (about a minute)")
    p.add_argument("--engine", choices=("auto", "lite", "xla", "graph"), help="the daemon's engine (default: config)")
    p.add_argument("--intra-op-threads", type=int, help="the daemon's intra_op_threads (default: config)")
    p.add_argument("--workers", type=int, help="the daemon's model workers (default: config)")
    p.add_argument("--overload", type=float, metavar="SECONDS",
                   help="instead: 3x capacity for SECONDS, then a light load; memory, drops, latency, recovery")
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="instead: each model alone at its best setting, windows/s as a ratio to the first")
    p.add_argument("--scale-out", type=int, metavar="N",
                   help="instead: throughput of 1 daemon and of N daemons sharing one PUSH input")


# --- demo --------------------------------------------------------------------------------------------------

def run_demo(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.demo import demo

    return demo(args.out_dir, args.model)


@command("demo", "the whole chain on the shipped model and recording: serve, replay, subscribe, plot",
         "hush demo --out-dir demo-out")
@handles(run_demo)
def _demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out-dir", default="demo-out", help="where the picture and the received stream go")
    p.add_argument("--model", help="model file (default: the shipped models/default.keras)")


# --- keys / ctl --------------------------------------------------------------------------------------------

def curve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--curve-key", metavar="FILE", help="your CURVE secret key file (NAME.key_secret)")
    p.add_argument("--curve-server-key", metavar="FILE", help="the daemon's CURVE public key file (NAME.key)")


def run_keys(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    from hush.clients.security import make_keys

    for name in args.names:
        public, secret = make_keys(args.dir, name)
        print(f"{name}: public {public} (share it), secret {secret} (keep it)")
    return 0


@command("keys", "make CURVE key pairs for the daemon and its clients",
         "hush keys keys/ server pump-3 dashboard\n  cp keys/pump-3.key allowed/   # let pump-3 in")
@handles(run_keys)
def _keys(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="directory for the key files")
    p.add_argument("names", nargs="+", help="one key pair per name")


def run_ctl(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    import json

    import msgpack
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(args.endpoint or cfg.serve.control or "tcp://127.0.0.1:5557")
    req: dict[str, Any] = {"cmd": args.cmd}
    if args.model:
        req["model"] = args.model
    sock.send(msgpack.packb(req))
    if not sock.poll(int(args.timeout * 1000)):
        sock.close()
        ctx.term()
        raise TimeoutError(f"no answer from the daemon's control endpoint within {args.timeout:g} s")
    reply = msgpack.unpackb(sock.recv(), raw=False)
    sock.close()
    ctx.term()
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


@command("ctl", "send a control command to a running daemon: reload its model, or read its counters",
         "hush ctl reload --model models/new.keras\n  hush ctl stats --endpoint tcp://127.0.0.1:5557")
@handles(run_ctl)
def _ctl(p: argparse.ArgumentParser) -> None:
    p.add_argument("cmd", choices=("reload", "stats"))
    p.add_argument("--model", help="reload: the model file (default: the one the daemon was started with)")
    p.add_argument("--endpoint", help="the daemon's control endpoint (default: [serve] control)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer")


# --- main --------------------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hush", description="Hush: real-time denoising of 1-D sensor streams.")
    top.add_argument("--version", action="version", version=f"hush {__import__('hush').__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help, example, setup, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                           epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", metavar="PATH", help="config file (default: $HUSH_CONFIG or ./config.toml)")
        p.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
        setup(p)
    return top


class JsonFormatter(logging.Formatter):
    """One JSON object per line: for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        out = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def setup_logging(quiet: bool, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(args.quiet)
    from hush.clients.publisher import NotConnected
    from hush.clients.recording import RecordingError
    from hush.daemon.server import ServeError
    from hush.modelfile import ModelFileError
    from hush.samples import SampleError

    try:
        cfg = hconfig.load(args.config)
        return COMMANDS[args.command][3](args, cfg)
    except (hconfig.ConfigError, SampleError, RecordingError, ModelFileError, ValueError) as exc:
        print(f"hush {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ServeError, NotConnected, TimeoutError, OSError) as exc:
        print(f"hush {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
