"""`hush bridge lsl`: clean a Lab Streaming Layer outlet live, and publish the result as a new outlet.

    amplifier outlet "ECG" --inlet--> one Hush stream per channel (lsl/ECG/<label>) --> daemon
    daemon --> stitched per channel --> outlet "ECG-hush": same channels, rate, format and metadata, and each
    sample with its input's timestamp

The inlet recovers by itself when its outlet goes and comes back (liblsl re-resolves it by its source id);
the bridge logs the silence and the samples it lost. Timestamps are mapped to this machine's LSL clock
(clock sync), the clock the new outlet stamps in, so both outlets line up in LabRecorder. Uses pylsl, whose
wheel carries liblsl (`pip install 'hush[bridges]'`).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hush.clients.bridge import Channel, Counts, Link, Reporter
from hush.config import LslConfig
from hush.errors import InputError, NotConnected

log = logging.getLogger("hush.bridge.lsl")
W = 150
LINGER_S = 0.5  # an outlet closed at once lost its last chunk to a polling inlet in 14 of 20 trials; 0.5 s: 0 of 20


@functools.cache
def _pylsl() -> Any:
    try:
        import pylsl
    except ImportError:
        raise InputError("hush bridge lsl needs pylsl: pip install 'hush[bridges]'") from None
    # liblsl logs INFO lines to stderr unless a config says otherwise; a user's own lsl_api.cfg wins.
    own = [os.environ.get("LSLAPICFG", ""), "lsl_api.cfg", os.path.expanduser("~/lsl_api/lsl_api.cfg"),
           "/etc/lsl_api/lsl_api.cfg"]
    if not any(p and os.path.exists(p) for p in own):
        pylsl.set_config_content("[log]\nlevel = -2\n")
    return pylsl


def find(cfg: LslConfig) -> Any:
    """The StreamInfo of the outlet named/typed as configured, or NotConnected."""
    pylsl = _pylsl()
    if not cfg.name and not cfg.type:
        raise InputError("say which LSL outlet to clean: --name NAME and/or --type TYPE")
    pred = " and ".join(f"{k}='{v}'" for k, v in (("name", cfg.name), ("type", cfg.type)) if v)
    found = pylsl.resolve_bypred(pred, 1, cfg.resolve_timeout_s)
    if not found:
        raise NotConnected(f"no LSL outlet with {pred} on the network within {cfg.resolve_timeout_s:g} s")
    return found[0]


def labels(info: Any) -> list[str]:
    """Channel labels from the outlet's metadata (desc/channels/channel/label), else 0, 1, ..."""
    out: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(out) < info.channel_count():
        out.append(ch.child_value("label"))
        ch = ch.next_sibling()
    if len(out) != info.channel_count() or len(set(out)) != len(out) or not all(out):
        out = [str(i) for i in range(info.channel_count())]
    return [re.sub(r"[^A-Za-z0-9._:-]", "_", x)[:40] for x in out]


def outlet_for(info: Any, suffix: str, model: str) -> Any:
    """A new outlet like `info` (channels, rate, format, metadata), named <name><suffix>."""
    pylsl = _pylsl()
    fmt = info.channel_format() if info.channel_format() in (pylsl.cf_float32, pylsl.cf_double64) else \
        pylsl.cf_float32
    new = pylsl.StreamInfo(info.name() + suffix, info.type(), info.channel_count(), info.nominal_srate(), fmt,
                           (info.source_id() or info.name()) + suffix)
    child = info.desc().first_child()
    while not child.empty():
        new.desc().append_copy(child)
        child = child.next_sibling()
    hush = new.desc().append_child("hush")
    hush.append_child_value("model", model)
    hush.append_child_value("source", info.name())
    return pylsl.StreamOutlet(new)


class LslBridge:
    def __init__(self, cfg: LslConfig, say: Callable[[str], None] = log.info):
        self.cfg, self.say = cfg, say
        self.counts = Counts()
        self.should_exit = False
        self.pending: dict[str, np.ndarray] = {}  # per channel: final (value, stamp) rows not yet pushed

    def run(self) -> Counts:
        pylsl = _pylsl()
        info = find(self.cfg)
        if info.channel_format() in (pylsl.cf_string, pylsl.cf_undefined):
            raise InputError(f"LSL outlet {info.name()!r} carries text (markers), not samples: nothing to clean")
        inlet = pylsl.StreamInlet(info, max_buflen=max(1, int(self.cfg.max_buffer_s)), recover=True,
                                  processing_flags=pylsl.proc_clocksync)
        info = inlet.info(timeout=self.cfg.resolve_timeout_s)  # the full description, with its metadata
        inlet.open_stream(timeout=self.cfg.resolve_timeout_s)  # samples flow from now: none missed
        name, rate = re.sub(r"[^A-Za-z0-9._:-]", "_", info.name())[:40], info.nominal_srate() or None
        hop = self.cfg.hop or W
        max_samples = int(self.cfg.max_buffer_s * (rate or 1000))
        channels = {f"lsl/{name}/{lab}": Channel(f"lsl/{name}/{lab}", W, hop, max_samples, self.counts)
                    for lab in labels(info)}
        link = Link(self.cfg.input, self.cfg.output, f"lsl/{name}/", push=self.cfg.push)
        try:
            link.wait(self.cfg.resolve_timeout_s)
            outlet = outlet_for(info, self.cfg.suffix, "hush")
            self.say(f"cleaning LSL outlet {info.name()!r} ({info.channel_count()} channels at "
                     f"{info.nominal_srate():g} Hz) into {info.name() + self.cfg.suffix!r}")
            self._loop(inlet, outlet, link, channels, rate)
            self._drain(outlet, link, channels)
            if outlet.have_consumers():  # liblsl drops what is still in flight when an outlet goes
                time.sleep(LINGER_S)
        finally:
            link.close()
            inlet.close_stream()
        return self.counts

    def _loop(self, inlet: Any, outlet: Any, link: Link, channels: dict[str, Channel], rate: float | None) -> None:
        chans = list(channels.values())
        last_data, quiet_said = time.monotonic(), False
        reporter = Reporter(self.counts)
        while not self.should_exit:
            reporter.tick()
            chunk, stamps = inlet.pull_chunk(timeout=0.0, max_samples=4096)
            if stamps:
                x, t = np.asarray(chunk, np.float64).reshape(len(stamps), -1), np.asarray(stamps)
                if quiet_said:
                    self.say(f"the outlet is back after {time.monotonic() - last_data:.1f} s of silence")
                last_data, quiet_said = time.monotonic(), False
                for c, ch in enumerate(chans):
                    for seq, win in ch.add(x[:, c], t):
                        link.send(ch.stream, seq, win, float(t[0]), rate)
            elif not quiet_said and time.monotonic() - last_data > 2.0:
                self.say("no samples from the outlet for 2 s (gone? it is picked up again when it is back)")
                quiet_said = True
            link.poll(channels, self.counts, 5)
            for ch in chans:
                ch.expire(time.monotonic(), self.cfg.answer_timeout_s)
            self._push(outlet, chans)

    def _drain(self, outlet: Any, link: Link, channels: dict[str, Channel]) -> None:
        """On stop: the partial windows go out padded, answers are awaited (answer_timeout_s at most)."""
        for ch in channels.values():
            for seq, win in ch.finish():
                link.send(ch.stream, seq, win, None, None)
        deadline = time.monotonic() + self.cfg.answer_timeout_s
        while any(ch.sent_at for ch in channels.values()) and time.monotonic() < deadline:
            link.poll(channels, self.counts, 20)
        for ch in channels.values():
            ch.expire(time.monotonic(), 0.0)
        self._push(outlet, list(channels.values()))

    def _push(self, outlet: Any, chans: list[Channel]) -> None:
        """Every sample that all channels have final, as one chunk with its input timestamps. A sample that
        any channel dropped is left out for all of them."""
        for ch in chans:
            values, stamps = ch.ready()
            self.pending[ch.stream] = np.concatenate([self.pending.get(ch.stream, np.zeros((0, 2))),
                                                      np.stack([values, stamps], axis=1)])
        n = min(self.pending[ch.stream].shape[0] for ch in chans)
        if n == 0:
            return
        block = np.stack([self.pending[ch.stream][:n] for ch in chans], axis=1)  # (n, channels, value/stamp)
        for ch in chans:
            self.pending[ch.stream] = self.pending[ch.stream][n:]
        good = ~np.isnan(block[:, :, 0]).any(axis=1)
        if good.any():
            outlet.push_chunk(np.ascontiguousarray(block[good, :, 0]), block[good, 0, 1].tolist())
