"""`hush bridge mqtt`: clean sensor topics of an MQTT broker live, and publish the result on mapped topics.

    sensors/pump-3/raw --(one Hush stream per topic: mqtt/sensors/pump-3/raw)--> daemon
    daemon --> stitched per topic --> sensors/pump-3/clean   (out_topic = "sensors/{1}/clean")

A message holds one sample (`format = "number"`), a JSON array of samples (`"array"`), or a JSON object whose
`field` holds either (`"object"`); the cleaned samples go out in the same shape (an object also carries
"t", each sample's arrival time, or times spread back by `rate` for an array). paho-mqtt's network thread
reconnects by itself (1 s, doubling to 30 s) and the bridge subscribes again; the time without a broker is
logged and counted as a gap (at QoS 0 a broker forgets what was published meanwhile). Messages that cannot
be read are counted and logged (the first few in full), never guessed at.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hush.clients.bridge import Channel, Counts, Link, Reporter, summary
from hush.config import MqttConfig
from hush.errors import InputError, NotConnected

log = logging.getLogger("hush.bridge.mqtt")
W = 150
INBOX = 100_000  # messages received and not yet read by the bridge, at most; past it they are dropped


def _paho() -> Any:
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise InputError("hush bridge mqtt needs paho-mqtt: pip install 'hush[bridges]'") from None
    return mqtt


def out_topic(template: str, topic: str) -> str:
    """The cleaned topic for `topic`: {N} is its level N (from 0), {topic} all of it."""
    levels = topic.split("/")
    try:
        return template.replace("{topic}", topic).format(*levels)
    except (IndexError, KeyError, ValueError):
        raise InputError(f"out_topic {template!r} asks for a level that topic {topic!r} does not have") from None


def stream_id(topic: str) -> str:
    return ("mqtt/" + re.sub(r"[^A-Za-z0-9._:/-]", "_", topic))[:128]


def parse(payload: bytes, fmt: str, key: str) -> tuple[np.ndarray, bool]:
    """The samples in a message and whether it held one number; ValueError says what is wrong."""
    text = payload.decode("utf-8", "strict").strip()
    value: Any = float(text) if fmt == "number" else json.loads(text)
    if fmt == "object":
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f"expected a JSON object with key {key!r}")
        value = value[key]
    scalar = isinstance(value, int | float) and not isinstance(value, bool)
    if not scalar and not (isinstance(value, list) and value and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise ValueError("expected a number or a non-empty JSON array of numbers")
    x = np.asarray([value] if scalar else value, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("samples must be finite (no NaN or infinity)")
    return x, scalar


@dataclass
class Topic:
    channel: Channel
    out: str
    scalar: bool = True


class MqttBridge:
    def __init__(self, cfg: MqttConfig, say: Callable[[str], None] = log.info):
        self.cfg, self.say = cfg, say
        self.counts = Counts()
        self.should_exit = False
        self.inbox: queue.Queue[tuple[str, bytes, float]] = queue.Queue(INBOX)
        self.topics: dict[str, Topic] = {}
        self.gaps, self.gap_s = 0, 0.0
        self.lost_at: float | None = None
        self.connected = False
        self.said_malformed = 0
        self.last_publish: Any = None  # paho's MQTTMessageInfo of the latest cleaned message

    # --- the broker ------------------------------------------------------------------------------------------

    def client(self) -> Any:
        mqtt, cfg = _paho(), self.cfg
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id or f"hush-bridge-{os.getpid()}")
        if cfg.username:
            c.username_pw_set(cfg.username, os.environ.get("HUSH_MQTT_PASSWORD"))
        if cfg.tls:
            c.tls_set(ca_certs=cfg.ca_file or None)
        c.reconnect_delay_set(1, 30)
        c.on_connect, c.on_disconnect, c.on_message = self._on_connect, self._on_disconnect, self._on_message
        return c

    def _on_connect(self, c: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if reason.is_failure:
            log.error("the broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason)
            return
        for f in self.cfg.topics:
            c.subscribe(f, qos=self.cfg.qos)
        self.connected = True
        if self.lost_at is not None:
            gap = time.monotonic() - self.lost_at
            self.gaps, self.gap_s, self.lost_at = self.gaps + 1, self.gap_s + gap, None
            log.warning("back on the broker after %.1f s: samples published meanwhile are missing from every "
                        "topic (gap %d)", gap, self.gaps)

    def _on_disconnect(self, c: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        self.connected = False
        if not self.should_exit and self.lost_at is None:
            self.lost_at = time.monotonic()
            log.warning("lost the broker %s:%d (%s); reconnecting", self.cfg.host, self.cfg.port, reason)

    def _on_message(self, c: Any, userdata: Any, msg: Any) -> None:
        try:
            self.inbox.put_nowait((msg.topic, msg.payload, time.time()))
        except queue.Full:
            self.counts.overflow += 1  # the bridge fell behind: the summary line says how many

    # --- the loop --------------------------------------------------------------------------------------------

    def run(self) -> Counts:
        c = self.client()
        try:
            c.connect(self.cfg.host, self.cfg.port, keepalive=30)
        except OSError as exc:
            raise NotConnected(f"cannot reach the MQTT broker at {self.cfg.host}:{self.cfg.port}: {exc}") from None
        link = Link(self.cfg.input, self.cfg.output, "mqtt/", push=self.cfg.push)
        c.loop_start()
        try:
            link.wait(30.0)
            self.say(f"cleaning {', '.join(self.cfg.topics)} on {self.cfg.host}:{self.cfg.port} into "
                     f"{self.cfg.out_topic}")
            reporter = Reporter(self.counts)
            while not self.should_exit:
                reporter.tick()
                self._read(link, 0.01)
                self._service(c, link)
            self._read(link, 0.0)  # stop: every message already received goes out, the tail padded
            for t in self.topics.values():
                for seq, win in t.channel.finish():
                    link.send(t.channel.stream, seq, win, None, None)
            deadline = time.monotonic() + self.cfg.answer_timeout_s
            while any(t.channel.sent_at for t in self.topics.values()) and time.monotonic() < deadline:
                self._service(c, link, 20)
            for t in self.topics.values():
                t.channel.expire(time.monotonic(), 0.0)
            self._service(c, link)
        finally:
            if self.last_publish is not None and self.connected:  # written out before we go
                try:
                    self.last_publish.wait_for_publish(5.0)
                except (RuntimeError, ValueError):
                    pass
            c.disconnect()
            c.loop_stop()
            link.close()
        return self.counts

    def _read(self, link: Link, wait_s: float) -> None:
        try:
            item = self.inbox.get(timeout=wait_s)
        except queue.Empty:
            return
        while True:
            self._take(link, *item)
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _take(self, link: Link, topic: str, payload: bytes, arrived: float) -> None:
        try:
            x, scalar = parse(payload, self.cfg.format, self.cfg.field)
        except (ValueError, UnicodeDecodeError) as exc:
            self.counts.malformed += 1
            if self.said_malformed < 5:
                self.said_malformed += 1
                log.warning("topic %s: a message that cannot be read (%s): %r", topic, exc, payload[:80])
            return
        t = self.topics.get(topic)
        if t is None:
            sid = stream_id(topic)
            t = self.topics[topic] = Topic(Channel(sid, W, self.cfg.hop or W, self.cfg.max_buffer, self.counts),
                                           out_topic(self.cfg.out_topic, topic), scalar)
            self.say(f"new topic {topic} -> {t.out} (stream {sid})")
        rate = self.cfg.rate or None
        stamps = arrived - (np.arange(x.size)[::-1] / rate if rate else np.zeros(x.size))
        for seq, win in t.channel.add(x, stamps):
            link.send(t.channel.stream, seq, win, None, rate)

    def _service(self, c: Any, link: Link, wait_ms: int = 0) -> None:
        """Answers in, expiry, cleaned samples out."""
        link.poll({t.channel.stream: t.channel for t in self.topics.values()}, self.counts, wait_ms)
        now = time.monotonic()
        for t in self.topics.values():
            t.channel.expire(now, self.cfg.answer_timeout_s)
            values, stamps = t.channel.ready()
            keep = ~np.isnan(values)
            if keep.any():
                self._publish(c, t, values[keep], stamps[keep])

    def _publish(self, c: Any, t: Topic, values: np.ndarray, stamps: np.ndarray) -> None:
        cfg = self.cfg
        if cfg.format == "number" or (cfg.format == "object" and t.scalar):
            bodies = [repr(float(v)) if cfg.format == "number" else json.dumps({cfg.field: float(v), "t": float(s)})
                      for v, s in zip(values, stamps, strict=True)]
        elif cfg.format == "array":
            bodies = [json.dumps([float(v) for v in values])]
        else:
            bodies = [json.dumps({cfg.field: [float(v) for v in values], "t": [float(s) for s in stamps]})]
        for body in bodies:
            self.last_publish = c.publish(t.out, body, qos=cfg.qos, retain=cfg.retain)

    def summary(self) -> str:
        return f"{len(self.topics)} topics: {summary(self.counts)}; {self.gaps} broker gaps ({self.gap_s:.1f} s)"
