"""What every command shares: the registry, flags made from the config's own fields, and logging."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from hush import config as hconfig

Handler = Callable[[argparse.Namespace, hconfig.Config], int]


@dataclasses.dataclass(frozen=True)
class Command:
    help: str
    example: str
    flags: Callable[[argparse.ArgumentParser], None]
    run: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, example: str, run: Handler) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a subcommand: `help` for the list, `example` at the end of its --help, `run` does the work;
    the decorated function declares its flags."""
    def wrap(flags: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
        COMMANDS[name] = Command(help, example, flags, run)
        return flags
    return wrap


_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "list[str]": str, "list[int]": int}


def settings(p: argparse.ArgumentParser, section: str, *names: str) -> None:
    """One --flag per setting of config section `section`, its type, choices and help taken from the field in
    hush/config.py, where each setting is declared once; `configured` applies the ones given."""
    fields = {f.name: f for f in dataclasses.fields(hconfig.SECTIONS[section])}
    for name in names:
        f = fields[name]
        typ, rules = str(f.type), f.metadata
        kw: dict[str, Any] = {"dest": name, "default": None, "help": rules["help"]}
        if typ == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = _TYPES[typ]
        if "choices" in rules or "items" in rules:
            kw["choices"] = rules.get("choices") or rules["items"]
        if typ.startswith("list"):
            kw["nargs"], kw["metavar"] = "+", name.upper().rstrip("S")
        p.add_argument("--" + name.replace("_", "-"), **kw)
    given = p.get_default(f"_settings_{section}") or ()
    p.set_defaults(**{f"_settings_{section}": (*given, *names)})


def configured(args: argparse.Namespace, cfg: hconfig.Config, section: str, base: Any = None) -> Any:
    """The config section with the settings given on the command line applied (and checked)."""
    names = getattr(args, f"_settings_{section}", ())
    return hconfig.override(base or getattr(cfg, section), {n: getattr(args, n) for n in names})


def curve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--curve-key", metavar="FILE", help="your CURVE secret key file (NAME.key_secret)")
    p.add_argument("--curve-server-key", metavar="FILE", help="the daemon's CURVE public key file (NAME.key)")


def curve_of(args: argparse.Namespace) -> tuple[str, str] | None:
    return (args.curve_key, args.curve_server_key) if args.curve_key else None


def progress(total: int | None, unit: str) -> Any:
    """A progress bar on stderr while it is a terminal; nothing when stderr is piped or logged."""
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not sys.stderr.isatty(), file=sys.stderr, leave=False,
                dynamic_ncols=True)


def say(text: str) -> None:
    """A line for the user, on stderr (stdout is for data)."""
    print(text, file=sys.stderr, flush=True)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        out = {"ts": round(record.created, 3), "level": record.levelname, "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


_NATIVE_LEVELS = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
_native_routed = False


def _native_level(line: str) -> int:
    """TensorFlow's C++ lines start 'I0000 …', 'W…', 'E…'; TensorFlow Lite's 'INFO: …', 'WARNING: …'."""
    word = line.split(":", 1)[0]
    if word in ("INFO", "WARNING", "ERROR"):
        return int(getattr(logging, word))
    return _NATIVE_LEVELS.get(line[:1], logging.WARNING) if line[1:2].isdigit() else logging.WARNING


def route_native_stderr() -> None:
    """Lines that native code (TensorFlow, TensorFlow Lite) writes to file descriptor 2 become log records of
    the logger "native", so that JSON logs hold only JSON. Python's own sys.stderr keeps the real stream: a
    traceback at a crash still reaches it directly."""
    global _native_routed
    if _native_routed:
        return
    _native_routed = True
    sys.stderr.flush()
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    native = logging.getLogger("native")

    def pump() -> None:
        with os.fdopen(read, errors="replace") as pipe:
            for line in pipe:
                if line.strip():
                    native.log(_native_level(line), line.rstrip())

    threading.Thread(target=pump, name="hush-native-log", daemon=True).start()


def setup_logging(quiet: bool, fmt: str = "text") -> None:
    if fmt == "json":
        route_native_stderr()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)
