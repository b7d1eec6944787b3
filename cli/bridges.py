"""`hush bridge lsl` and `hush bridge mqtt`: clean streams where sensors already publish them."""

from __future__ import annotations

import argparse
import dataclasses
import signal
from typing import Any

from hush import config as hconfig
from hush.cli.base import command, configured, say, settings, setup_logging

EXAMPLES = {
    "lsl": "hush bridge lsl --name ECG --type ECG --hop 75     # publishes the outlet ECG-hush",
    "mqtt": "hush bridge mqtt --host broker.local --topics 'sensors/+/raw' --out-topic 'sensors/{1}/clean' "
            "--format array --rate 360",
}
HELP = {"lsl": "clean a Lab Streaming Layer outlet into a new outlet <name>-hush",
        "mqtt": "clean MQTT topics into mapped topics on the same broker"}


def run_bridge(args: argparse.Namespace, cfg: hconfig.Config) -> int:
    setup_logging(args.quiet)
    section = configured(args, cfg, args.kind)
    if args.kind == "lsl":
        from hush.clients.lsl import LslBridge

        bridge: Any = LslBridge(section, say=say)
    else:
        from hush.clients.mqtt import MqttBridge

        bridge = MqttBridge(section, say=say)

    def stop(sig: int, frame: object) -> None:
        bridge.should_exit = True  # what was received is flushed through the daemon, then it exits

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    from hush.clients.bridge import summary

    counts = bridge.run()
    say(bridge.summary() if hasattr(bridge, "summary") else summary(counts))
    return 0


@command("bridge", "clean a Lab Streaming Layer outlet or MQTT topics live, without writing a client",
         "\n  ".join(EXAMPLES.values()), run_bridge)
def _bridge(p: argparse.ArgumentParser) -> None:
    kinds = p.add_subparsers(dest="kind", metavar="{lsl,mqtt}", required=True)
    for kind in ("lsl", "mqtt"):
        k = kinds.add_parser(kind, help=HELP[kind], description=HELP[kind][0].upper() + HELP[kind][1:] + ".",
                             epilog=f"example:\n  {EXAMPLES[kind]}",
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        k.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                       help="config file (default: $HUSH_CONFIG or ./config.toml)")
        k.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="log warnings and errors only")
        settings(k, kind, *(f.name for f in dataclasses.fields(hconfig.SECTIONS[kind])))
