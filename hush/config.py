"""Typed configuration: frozen dataclasses filled from config.toml, then from command-line flags.

Order of precedence, lowest first: the defaults below, the config file, a training preset (for
`hush train --preset`), command-line flags. The shipped config.toml repeats every default here with a
comment; a test keeps the two equal. An unknown section or key, a wrong type or a value out of range is a
`ConfigError` that names the key, the value, what was expected and where it came from.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hush.errors import InputError


class ConfigError(InputError):
    """A setting that cannot be used; the message says which, where and what was expected."""


def _f(default: Any, help: str, **rules: Any) -> Any:
    """A field with its one-line help and its rules (min, max, choices, items)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help, **rules})
    return field(default=default, metadata={"help": help, **rules})


@dataclass(frozen=True)
class ServeConfig:
    model: str = _f("", "model file; empty means the shipped models/default.keras")
    input: str = _f("tcp://127.0.0.1:5555", "where sensors send windows (a SUB socket, or PULL with input_type pull)")
    input_mode: str = _f("bind", "bind the input socket, or connect it to a proxy", choices=("bind", "connect"))
    input_type: str = _f("sub", "sub: sensors PUB, overload drops the newest windows (each gets an 'overloaded' "
                         "error); pull: sensors PUSH, overload holds them back (lossless)", choices=("sub", "pull"))
    output: str = _f("tcp://127.0.0.1:5556", "where denoised windows, errors and hellos go (XPUB socket; "
                      "subscribers connect SUB sockets)")
    output_mode: str = _f("bind", "bind the output socket, or connect it", choices=("bind", "connect"))
    max_batch: int = _f(64, "windows per model call at most", min=1, max=4096)
    max_wait_ms: float = _f(0.0, "longest a window waits for company while the model is idle (batches form "
                            "while it is busy anyway)", min=0.0, max=10_000.0)
    max_windows_per_message: int = _f(64, "k in a multi-window message (k x W samples)", min=1, max=4096)
    max_message_bytes: int = _f(1_048_576, "larger input messages are refused by ZeroMQ", min=1024)
    max_extra_bytes: int = _f(4096, "pass-through keys larger than this are an error", min=0)
    queue_batches: int = _f(64, "windows waiting for the model at most, in batches (x max_batch): absorbs bursts "
                            "(~0.4 s at 10,000 windows/s); beyond it SUB input drops", min=1, max=1024)
    max_queue_ms: float = _f(1000.0, "SUB input: a window that waited longer than this for the model is dropped "
                             "(answered `overloaded`) instead of run late; 0: never", min=0.0, max=3_600_000.0)
    backlog_nap_ms: float = _f(5.0, "while a full batch waits for every model worker, the input thread reads this "
                               "often at most (fewer wake-ups taking the model's CPU); 0 reads at once", min=0.0,
                               max=50.0)
    max_streams: int = _f(100_000, "streams whose seq (and drop and gap counts) are tracked one by one; past it the "
                          "least recently seen is forgotten, and counts go to '(other streams)'", min=1)
    stream_idle_s: float = _f(3600.0, "a stream silent this long is forgotten (its next seq starts afresh); 0: never",
                              min=0.0)
    metrics_streams: int = _f(20, "per-stream series in /metrics: the largest this many, the rest summed as "
                              "'(other streams)'", min=0, max=10_000)
    batch_timeout_s: float = _f(30.0, "a model worker still on one batch after this long is abandoned: the batch is "
                                "answered `internal` and a new worker takes its place; 0: never", min=0.0)
    hwm: int = _f(100_000, "ZeroMQ high-water mark, in messages, on both sockets", min=1)
    linger_ms: int = _f(2000, "on exit, how long unsent output may hold the process", min=0)
    stats_interval_s: float = _f(10.0, "seconds between summary log lines; 0 turns them off", min=0.0)
    log_format: str = _f("text", "log lines as text, or one JSON object per line", choices=("text", "json"))
    metrics_port: int = _f(0, "serve Prometheus /metrics on 127.0.0.1 at this port; 0 turns it off", min=0,
                           max=65535)
    control: str = _f("", "a REP endpoint for control commands (reload, stats), e.g. tcp://127.0.0.1:5557; empty: none")
    curve_secret_key: str = _f("", "the daemon's CURVE secret key file (from `hush keys`); empty: no encryption")
    curve_clients_dir: str = _f("", "with curve_secret_key: a directory of allowed client public keys (*.key)")
    engine: str = _f("auto", "what runs the model: lite (TensorFlow Lite, XNNPACK), xla, graph (TensorFlow), int8 "
                     "(lite, int8 weights and activations), bf16 (inner convolutions in bfloat16), or auto (time "
                     "each but int8 per batch size at start, keep the fastest; bf16 only on cores with bfloat16 "
                     "arithmetic and when its answers pass the check the log reports)",
                     choices=("auto", "lite", "xla", "graph", "int8", "bf16"))
    workers: int = _f(0, "model threads, each on its own batch; 0 means one per core", min=0, max=64)
    intra_op_threads: int = _f(0, "threads per TensorFlow op or Lite call; 0: 1 with several workers, else "
                               "TensorFlow's choice (Lite: every core)",
                               min=0, max=256)
    inter_op_threads: int = _f(0, "TensorFlow ops run at once; 0 lets TensorFlow choose", min=0, max=256)


@dataclass(frozen=True)
class PublishConfig:
    endpoint: str = _f("tcp://127.0.0.1:5555", "the daemon's input")
    stream: str = _f("sensor", "stream id (the topic)")
    hop: int = _f(0, "samples between window starts; 0 means W (no overlap)", min=0)
    rate: float = _f(0.0, "samples per second, stamped on each window; 0 means unknown", min=0.0)
    form: str = _f("bin-f8", "how samples travel", choices=("array", "bin-f4", "bin-f8"))
    column: str = _f("0", "CSV column: a 0-based index or a header name")
    connect_timeout_s: float = _f(10.0, "how long to wait for the daemon before giving up", min=0.0)


@dataclass(frozen=True)
class SubscribeConfig:
    endpoint: str = _f("tcp://127.0.0.1:5556", "the daemon's output")
    prefix: str = _f("", "stream-id prefix to receive; empty means every stream")


@dataclass(frozen=True)
class RecordConfig:
    endpoint: str = _f("tcp://127.0.0.1:5556", "what to record (the daemon's output by default)")
    prefix: str = _f("", "topic prefix to record; empty means all")


@dataclass(frozen=True)
class ReplayConfig:
    endpoint: str = _f("tcp://127.0.0.1:5555", "where to replay to (the daemon's input by default)")
    speed: float = _f(1.0, "1 is the recorded pace, 2 twice as fast, 0 as fast as possible", min=0.0)
    rate: float = _f(100.0, "samples per second when replaying a .npy/.csv file", min=0.0)


@dataclass(frozen=True)
class TrainConfig:
    preset: str = _f("default", "recipe to start from; 'seed' is the tutorial exactly", choices=("default", "seed"))
    out: str = _f("model.keras", "where the model file goes")
    seed: int = _f(0, "random seed for data, split and weights", min=0)
    window: int = _f(150, "samples per window (W)", min=8, max=65536)
    families: list[str] = _f(
        ["sines", "parabola", "chirp", "square", "sawtooth", "damped", "steps", "walk", "pulses", "spiky", "ramps",
         "am", "ringing"],
        "synthetic signal families to train on",
        items=("sines", "parabola", "chirp", "square", "sawtooth", "damped", "steps", "walk", "pulses", "spiky",
               "ramps", "am", "ringing", "seed_parabola"),
    )
    n_windows: int = _f(120_000, "synthetic windows to make (train + validation + test)", min=10)
    freq_max: float = _f(16.0, "highest frequency of the families, in cycles per window; sines and chirps reach "
                         "2.5 x it, and a quarter of them the whole band (to 0.48 W)", min=0.1)
    amplitude_min: float = _f(0.1, "smallest signal amplitude (log-uniform)", min=0.0)
    amplitude_max: float = _f(10.0, "largest signal amplitude", min=0.0)
    offset_max: float = _f(5.0, "offsets are uniform in [-offset_max, offset_max]", min=0.0)
    noise: list[str] = _f(["mix"], "noise kinds, summed at equal power in every window (trainer/noise.py); "
                          "['mix'] draws mix_kinds at random levels, some alone; ['seed'] is the tutorial's",
                          items=("white", "pink", "brown", "spikes", "wander", "hum", "clip", "quantize", "dropout",
                                 "mix", "seed"))
    mix_kinds: list[str] = _f(["white", "pink", "spikes", "hum"], "with noise = ['mix']: the kinds it mixes (white "
                              "always); without spikes, one-sample events of the signal are kept (docs/quality.md)",
                              items=("white", "pink", "spikes", "hum"))
    noise_file: str = _f("", "a recording of the sensor's noise alone (.npy, or .csv with noise_column): its "
                         "segments are added at the SNRs, instead of or beside the kinds above; empty: none")
    noise_column: str = _f("", "noise_file's CSV column, as `column`")
    noise_file_share: float = _f(1.0, "part of the noise power taken by noise_file; the rest is `noise`", min=0.0,
                                 max=1.0)
    rate: float = _f(360.0, "sampling rate (Hz) that hum (50/60 Hz) and wander (< 0.5 Hz) are placed by", min=1.0)
    snr_db_min: float = _f(-20.0, "lowest input SNR, dB (signal variance over noise variance)", min=-40.0, max=80.0)
    snr_db_max: float = _f(60.0, "highest input SNR, dB", min=-40.0, max=80.0)
    noise_factor: float = _f(0.05, "std of the seed's absolute noise (noise = ['seed'])", min=0.0)
    self_supervision: str = _f("recorrupt", "with --noisy: recorrupt (fresh noise at the recording's estimated "
                               "level; white noise) or blind-spot (hidden samples; any independent noise)",
                               choices=("recorrupt", "blind-spot"))
    column: str = _f("", "with --clean (and --noisy): a CSV file's column, a header name or a 0-based index; empty: "
                     "the file's only column (several are an error)")
    clean_hop: int = _f(10, "with --clean: samples between window starts", min=1)
    clean_copies: int = _f(4, "with --clean: noisy copies of each window", min=1, max=100)
    augment: list[str] = _f([], "with --clean: more training windows from the recording: stretch (resampled by "
                            "0.8, 0.9, 1.1 and 1.25, as a heart or a machine runs slower or faster), flip (sign "
                            "reversed), reverse (time reversed); empty: none", empty=True,
                            items=("stretch", "flip", "reverse"))
    fresh_noise: bool = _f(True, "with --clean: every epoch draws new noise for each window (a recording's "
                           "windows are seen many times, and noise drawn once is learnt by heart)")
    architecture: str = _f("dilated", "network shape", choices=("dilated", "unet", "seed"))
    filters: int = _f(32, "channels of the hidden layers (dilated)", min=1, max=1024)
    kernel_size: int = _f(7, "kernel size (dilated, unet)", min=1, max=255)
    dilations: list[int] = _f([1, 2, 4, 8, 16, 1], "one hidden layer per dilation (dilated); these see 199 samples")
    levels: list[int] = _f([32, 48, 64, 96], "channels per scale (unet): the window's rate, then pooled by 2, 3, 5")
    median_channels: bool = _f(True, "the network also reads running medians (3 and 5 samples) of its input: "
                               "what removes impulses (dilated, unet)")
    scaling: str = _f("standardize", "per-window scaling", choices=("standardize", "minmax"))
    loss: str = _f("snr", "loss in the scaled coordinates: mse, bce (the seed's), or snr (the mean over windows "
                   "of each window's error in dB: every window's SNR counts alike, as hush eval scores it)",
                   choices=("mse", "bce", "snr"))
    loss_floor_db: float = _f(60.0, "snr loss: error floor, dB below the window's variance; a window cleaner than "
                              "that gains nothing more (keep it >= snr_db_max)", min=10.0, max=120.0)
    epochs: int = _f(40, "passes over the training set at most", min=1)
    max_minutes: float = _f(0.0, "above 0: the run stops before an epoch that would end past this many minutes "
                            "from its start (judged by its slowest epoch), as early stopping would; 0: none", min=0.0)
    batch_size: int = _f(64, "windows per training step", min=1)
    learning_rate: float = _f(0.001, "Adam's step size", min=0.0)
    init_learning_rate: float = _f(0.0001, "with --init: Adam's step size for fine-tuning", min=0.0)
    init_shrink: float = _f(1.0, "with --init: the network starts from this share of the model's weights plus a "
                            "tenth of a new network's (it learns as a new one would, with a lead)", min=0.0, max=1.0)
    weight_average: float = _f(0.99, "above 0: the network kept is the moving average of its weights, at this "
                               "momentum (0.999: over about the last 1,000 steps; less if the run is short); "
                               "validation and early stopping judge the average", min=0.0, max=0.99999)
    test_fraction: float = _f(0.15, "last part of the windows kept for the test", min=0.0, max=0.9)
    val_fraction: float = _f(0.2, "part of the rest kept for validation", min=0.0, max=0.9)
    patience: int = _f(4, "epochs without validation gain before stopping (the step size halves after half as "
                      "many); 0 never stops early", min=0)
    report_examples: int = _f(4, "test windows drawn in the report picture", min=0, max=32)
    checkpoint_dir: str = _f("", "if set: training state saved there every epoch; rerunning resumes from it")
    tensorboard_dir: str = _f("", "if set: TensorBoard logs go there")


@dataclass(frozen=True)
class RouteConfig:
    input: str = _f("tcp://127.0.0.1:5555", "where sensors send windows (bound: SUB, or PULL with input_type pull)")
    input_type: str = _f("sub", "sub: sensors PUB (a window no daemon can take is answered at once); pull: sensors "
                         "PUSH (held back until a daemon can take it)", choices=("sub", "pull"))
    output: str = _f("tcp://127.0.0.1:5556", "where every daemon's answers come out in each stream's order (XPUB, "
                     "bound): subscribers connect here")
    daemons: list[str] = _f([], "each daemon as INPUT=OUTPUT (its PULL input, bound with input_type pull, and its "
                            "output), e.g. tcp://10.0.0.2:5600=tcp://10.0.0.2:5601", empty=True)
    heartbeat_s: float = _f(2.0, "a daemon whose connection is silent this long is gone (ZeroMQ heartbeats): its "
                            "windows in flight are answered `lost` and its streams move", min=0.1, max=600.0)
    hwm: int = _f(100_000, "ZeroMQ high-water mark, in messages, on every socket", min=1)
    stats_interval_s: float = _f(10.0, "seconds between summary log lines; 0 turns them off", min=0.0)


@dataclass(frozen=True)
class BridgeConfig:
    """What both bridges share: the daemon's endpoints, and how windows are cut and waited for."""

    input: str = _f("tcp://127.0.0.1:5555", "the daemon's input")
    output: str = _f("tcp://127.0.0.1:5556", "the daemon's output")
    push: bool = _f(False, "send with PUSH, for a daemon with input_type pull (lossless)")
    hop: int = _f(0, "samples between window starts; 0 means W (no overlap), W/2 stitches without seams", min=0)
    answer_timeout_s: float = _f(5.0, "a window unanswered this long is given up (its samples dropped)", min=0.1)


@dataclass(frozen=True)
class LslConfig(BridgeConfig):
    name: str = _f("", "the LSL outlet's name to clean (empty: any name of `type`)")
    type: str = _f("", "the outlet's content type, e.g. ECG or EEG (empty: any type of `name`)")
    suffix: str = _f("-hush", "the cleaned outlet is named <name><suffix>")
    resolve_timeout_s: float = _f(30.0, "how long to look for the outlet at start", min=0.1)
    max_buffer_s: float = _f(60.0, "seconds of samples held per channel at most, waiting for answers", min=1.0)


@dataclass(frozen=True)
class MqttConfig(BridgeConfig):
    host: str = _f("127.0.0.1", "the MQTT broker")
    port: int = _f(1883, "its port (8883 is usual with TLS)", min=1, max=65535)
    topics: list[str] = _f(["sensors/+/raw"], "topic filters to clean (+ and # wildcards)")
    out_topic: str = _f("sensors/{1}/clean", "where each topic's cleaned samples go: {N} is level N of the "
                        "topic (from 0), {topic} all of it")
    format: str = _f("number", "each message holds a number, a JSON array of numbers, or a JSON object whose "
                     "`field` holds either", choices=("number", "array", "object"))
    field: str = _f("value", "with format object: the key holding the sample(s)")
    rate: float = _f(0.0, "samples per second of every topic, sent to the daemon as `rate`; 0: unknown", min=0.0)
    qos: int = _f(0, "MQTT quality of service for subscribing and publishing", min=0, max=2)
    retain: bool = _f(False, "publish the cleaned samples with the retain flag")
    tls: bool = _f(False, "connect with TLS")
    ca_file: str = _f("", "with tls: the CA certificate file (empty: the system's)")
    username: str = _f("", "MQTT user name (empty: none); the password comes from $HUSH_MQTT_PASSWORD")
    client_id: str = _f("", "MQTT client id (empty: hush-bridge-<pid>)")
    max_buffer: int = _f(100_000, "samples held per topic at most, waiting for answers", min=1000)


SECTIONS: dict[str, type] = {
    "serve": ServeConfig,
    "route": RouteConfig,
    "lsl": LslConfig,
    "mqtt": MqttConfig,
    "publish": PublishConfig,
    "subscribe": SubscribeConfig,
    "record": RecordConfig,
    "replay": ReplayConfig,
    "train": TrainConfig,
}


# Keys that were renamed or removed: (section, key) -> what to write instead.
REPLACED: dict[tuple[type, str], str] = {
    (ServeConfig, "xla"): "'xla' was replaced by 'engine' (auto, lite, xla or graph): xla = \"on\" is "
                          "engine = \"xla\", \"off\" is \"graph\", \"auto\" is \"auto\"",
}


@dataclass(frozen=True)
class Config:
    serve: ServeConfig = field(default_factory=ServeConfig)
    route: RouteConfig = field(default_factory=RouteConfig)
    lsl: LslConfig = field(default_factory=LslConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    subscribe: SubscribeConfig = field(default_factory=SubscribeConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


_KINDS = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string",
          "list[str]": "a non-empty list of strings", "list[int]": "a non-empty list of integers >= 1"}


def _expected(f: dataclasses.Field[Any]) -> str:
    rules = f.metadata
    kind = _KINDS[str(f.type)]
    parts = [kind]
    if "choices" in rules:
        parts = ["one of " + ", ".join(repr(c) for c in rules["choices"])]
    if "items" in rules:
        parts = ["a list of " + ", ".join(repr(c) for c in rules["items"])]
    if "min" in rules:
        parts.append(f">= {rules['min']}")
    if "max" in rules:
        parts.append(f"<= {rules['max']}")
    return " ".join(parts)


def check_value(f: dataclasses.Field[Any], value: Any, where: str) -> Any:
    """Return `value` converted to the field's type, or raise ConfigError saying what was wrong."""
    typ, rules = str(f.type), f.metadata

    def bad() -> ConfigError:
        return ConfigError(f"{where}: {f.name} must be {_expected(f)}, got {value!r}")

    number = {"int": int, "float": int | float}.get(typ)
    if (typ == "bool") != isinstance(value, bool) or (number and not isinstance(value, number)):
        raise bad()  # a bool is an int to Python, never a number here
    if typ == "float":
        value = float(value)
        if value != value:
            raise bad()
    elif typ == "str" and not isinstance(value, str):
        raise bad()
    elif typ in ("list[str]", "list[int]"):
        item = str if typ == "list[str]" else int
        if not isinstance(value, list) or not (value or rules.get("empty")) or not all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        ):
            raise bad()
        if "items" in rules and not set(value) <= set(rules["items"]):
            raise bad()
        if item is int and not all(v >= 1 for v in value):
            raise bad()
        value = list(value)
    if "choices" in rules and value not in rules["choices"]:
        raise bad()
    if ("min" in rules and value < rules["min"]) or ("max" in rules and value > rules["max"]):
        raise bad()
    return value


def build_section(cls: type, values: dict[str, Any], where: str, base: Any = None) -> Any:
    """Make a `cls` from `base` (or the defaults) with `values` applied, checking every key and value."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    checked = {}
    for key, value in values.items():
        if key not in fields and (cls, key) in REPLACED:
            raise ConfigError(f"{where}: {REPLACED[cls, key]}")
        if key not in fields:
            raise ConfigError(f"{where}: unknown key {key!r}; expected one of: {', '.join(fields)}")
        checked[key] = check_value(fields[key], value, where)
    obj = dataclasses.replace(base, **checked) if base is not None else cls(**checked)
    _check_section(obj, where)
    return obj


def _check_section(obj: Any, where: str) -> None:
    """Rules that tie two keys of one section together."""
    if isinstance(obj, ServeConfig) and bool(obj.curve_secret_key) != bool(obj.curve_clients_dir):
        raise ConfigError(f"{where}: curve_secret_key and curve_clients_dir go together; got "
                          f"{obj.curve_secret_key!r} and {obj.curve_clients_dir!r}")
    if not isinstance(obj, TrainConfig):
        return
    for broken, message in (
            ("seed" in obj.noise and len(obj.noise) > 1,
             f"noise ['seed'] is the tutorial's absolute noise and combines with nothing, got {obj.noise!r}"),
            ("mix" in obj.noise and len(obj.noise) > 1,
             f"noise ['mix'] is a recipe of every kind and combines with nothing, got {obj.noise!r}"),
            ("white" not in obj.mix_kinds, f"mix_kinds must include white (the mix's floor), got {obj.mix_kinds!r}"),
            (obj.snr_db_min > obj.snr_db_max,
             f"snr_db_min ({obj.snr_db_min}) must be <= snr_db_max ({obj.snr_db_max})"),
            (obj.amplitude_min > obj.amplitude_max,
             f"amplitude_min ({obj.amplitude_min}) must be <= amplitude_max ({obj.amplitude_max})")):
        if broken:
            raise ConfigError(f"{where}: {message}")


def override(section: Any, flags: dict[str, Any]) -> Any:
    """Apply command-line values (None means 'not given') to a loaded section."""
    given = {k: v for k, v in flags.items() if v is not None}
    where = "command line " + ", ".join("--" + k.replace("_", "-") for k in given) if given else "command line"
    return build_section(type(section), given, where, base=section) if given else section


def default_config_path() -> Path | None:
    """--config is absent: $HUSH_CONFIG, else ./config.toml, else none (the defaults, which the shipped
    config.toml repeats)."""
    if env := os.environ.get("HUSH_CONFIG"):
        return Path(env)
    return Path("config.toml") if Path("config.toml").is_file() else None


def load(path: str | Path | None = None) -> Config:
    """Read a TOML config file (see default_config_path when `path` is None) and check every setting."""
    p = Path(path) if path is not None else default_config_path()
    if p is None:
        return Config()
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {p}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    sections = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(f"{p}: unknown section [{name}]; expected one of: {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{p}: {name} must be a [{name}] table, got {values!r}")
        sections[name] = build_section(SECTIONS[name], values, f"{p} [{name}]")
    return Config(**sections)
