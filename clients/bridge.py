"""What `hush bridge lsl` and `hush bridge mqtt` share: samples from outside in, one Hush stream per channel,
windows to the daemon, answers stitched back into one continuous denoised signal per channel, given out in
order with each sample's own input timestamp.

    source (LSL inlet, MQTT topic) --Channel.add--> windows --> daemon input
    daemon output --Link.poll--> Channel.answer --overlap-add--> Channel.ready --> sink (LSL outlet, MQTT)

Window n of a channel starts at its sample n x hop (hop = W: no overlap). With overlap, each sample is the
Hann-weighted mean of the windows that cover it (as hush/stitch.py does), so no seam shows. A sample is given
out once every window that covers it is resolved: answered, answered with an error, or unanswered after
`answer_timeout_s` (the daemon went away). Samples that no answered window covers are dropped and counted,
never passed on raw as if clean. Everything a channel holds is bounded: past `max_samples` waiting, its
oldest windows are given up (counted) so that a daemon that stops answering cannot grow the bridge.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import zmq

from hush import protocol
from hush.clients.publisher import sender_socket, wait_subscribed

log = logging.getLogger("hush.bridge")


@dataclass
class Counts:
    received: int = 0  # samples in
    sent_windows: int = 0
    answered_windows: int = 0
    failed_windows: int = 0  # answered with an error, or unanswered in time, or given up at max_samples
    out: int = 0  # denoised samples given out
    dropped: int = 0  # samples given out by no answered window: dropped
    malformed: int = 0  # messages that could not be read (the bridge's own inputs)
    overflow: int = 0  # messages dropped unread: the bridge fell behind its source
    errors: dict[str, int] = field(default_factory=dict)  # daemon error codes seen


def summary(c: Counts) -> str:
    return (f"{c.received} samples in, {c.out} out, {c.dropped} dropped ({c.failed_windows} windows answered with "
            f"an error or not at all), {c.malformed} unreadable and {c.overflow} overflowing messages"
            + (f"; daemon errors {c.errors}" if c.errors else ""))


class Reporter:
    """A summary line every `seconds`, sooner (10 s) when samples were dropped or messages unreadable."""

    def __init__(self, counts: Counts, seconds: float = 60.0):
        self.counts, self.seconds = counts, seconds
        self.last, self.shown = time.monotonic(), (0, 0, 0)

    def tick(self) -> None:
        c, now = self.counts, time.monotonic()
        bad = (c.dropped, c.malformed, c.overflow)
        if now - self.last >= self.seconds or (bad != self.shown and now - self.last >= 10.0):
            (log.warning if bad != self.shown else log.info)(summary(c))
            self.last, self.shown = now, bad


class Channel:
    """One Hush stream: samples in with their timestamps, windows out, denoised samples back in order."""

    def __init__(self, stream: str, window: int, hop: int, max_samples: int, counts: Counts):
        self.stream, self.window, self.hop, self.max_samples, self.counts = stream, window, hop, max_samples, counts
        self.taper = np.hanning(window + 2)[1:-1] if hop < window else np.ones(window)
        self.start = 0  # absolute index of raw[0] (everything before it was given out)
        self.raw, self.times = np.zeros(0), np.zeros(0)
        self.acc, self.wsum = np.zeros(0), np.zeros(0)
        self.next_seq = 0  # the next window to send
        self.resolved_upto = 0  # every window before this one is resolved
        self.resolved: set[int] = set()  # resolved windows at or after resolved_upto
        self.sent_at: dict[int, float] = {}  # unresolved window -> when it was sent (monotonic)
        self.end: int | None = None  # set by finish(): the stream's length; nothing comes after it

    @property
    def received(self) -> int:
        return self.start + self.raw.size

    def add(self, samples: np.ndarray, stamps: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Take samples and their timestamps; return the windows now complete, as (seq, samples)."""
        self.raw = np.concatenate([self.raw, np.asarray(samples, np.float64)])
        self.times = np.concatenate([self.times, np.asarray(stamps, np.float64)])
        self.acc = np.concatenate([self.acc, np.zeros(len(samples))])
        self.wsum = np.concatenate([self.wsum, np.zeros(len(samples))])
        self.counts.received += len(samples)
        out = []
        while (first := self.next_seq * self.hop) + self.window <= self.received:
            out.append(self._window(first, self.window))
        if self.raw.size > self.max_samples:
            self._give_up(self.received - self.max_samples)
        return out

    def finish(self) -> list[tuple[int, np.ndarray]]:
        """The stream ends: the samples past the last full window go in one more, padded by repeating the
        last sample (the padding is not given out)."""
        self.end = self.received
        first = self.next_seq * self.hop
        if first < self.end:
            return [self._window(first, self.end - first)]
        return []

    def _window(self, first: int, real: int) -> tuple[int, np.ndarray]:
        at = first - self.start
        body = self.raw[at:at + real]
        seq = self.next_seq
        self.next_seq += 1
        self.sent_at[seq] = time.monotonic()
        self.counts.sent_windows += 1
        return seq, np.concatenate([body, np.full(self.window - real, body[-1])]) if real < self.window else body

    def answer(self, seq: int, samples: np.ndarray | None) -> None:
        """A window's answer (None: an error). Late or repeated answers are ignored."""
        if seq not in self.sent_at:
            return
        del self.sent_at[seq]
        if samples is None or samples.size != self.window:
            self.counts.failed_windows += 1
        else:
            self.counts.answered_windows += 1
            at = seq * self.hop - self.start
            n = min(self.window, self.acc.size - at)
            self.acc[at:at + n] += self.taper[:n] * samples[:n]
            self.wsum[at:at + n] += self.taper[:n]
        self.resolved.add(seq)
        while self.resolved_upto in self.resolved:
            self.resolved.discard(self.resolved_upto)
            self.resolved_upto += 1

    def expire(self, now: float, timeout_s: float) -> int:
        """Windows unanswered for timeout_s are resolved as failed; how many."""
        old = [s for s, t in self.sent_at.items() if now - t > timeout_s]
        for s in old:
            self.answer(s, None)
        return len(old)

    def _give_up(self, upto: int) -> None:
        """Past max_samples: resolve (as failed) every window starting before `upto`."""
        for s in [s for s in self.sent_at if s * self.hop < upto]:
            self.answer(s, None)

    def ready(self) -> tuple[np.ndarray, np.ndarray]:
        """(denoised samples, their input timestamps) final now, in order; NaN where no answered window
        covers a sample (it is dropped: counted here, left out by the sinks)."""
        # Sample i is final once every window covering it (those starting at or before it) is resolved, and
        # no window still to come covers it: i < resolved_upto x hop; after finish(), all of them.
        final = self.end if self.end is not None and not self.sent_at else self.resolved_upto * self.hop
        n = max(0, min(final, self.received) - self.start)
        if n == 0:
            return np.zeros(0), np.zeros(0)
        covered = self.wsum[:n] > 0
        values = np.where(covered, self.acc[:n] / np.where(covered, self.wsum[:n], 1.0), np.nan)
        stamps = self.times[:n]
        self.counts.out += int(covered.sum())
        self.counts.dropped += int(n - covered.sum())
        self.raw, self.times, self.acc, self.wsum = self.raw[n:], self.times[n:], self.acc[n:], self.wsum[n:]
        self.start += n
        return values, stamps


class Link:
    """The bridge's two sockets to the daemon: windows out (XPUB, or PUSH for input_type pull), answers in
    (SUB on `prefix` and its errors)."""

    def __init__(self, input: str, output: str, prefix: str, push: bool = False, ctx: zmq.Context | None = None):
        self.ctx = ctx or zmq.Context.instance()
        self.input, self.output, self.push = input, output, push
        self.out, self.handshake = sender_socket(self.ctx, input, push=push)
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        for topic in (prefix.encode(), protocol.ERROR_PREFIX + b"/" + prefix.encode(), protocol.READY_TOPIC):
            self.sub.setsockopt(zmq.SUBSCRIBE, topic)
        self.sub.connect(output)

    def wait(self, timeout_s: float) -> None:
        """Until the daemon listens to us and we hear it (NotConnected says why not)."""
        wait_subscribed(self.out, None, timeout_s, self.input, self.handshake, self.push)
        if not self.sub.poll(int(timeout_s * 1000)):
            from hush.errors import NotConnected

            raise NotConnected(f"no Hush daemon greeted at {self.output} within {timeout_s:g} s")
        self.sub.recv_multipart()

    def send(self, stream: str, seq: int, samples: np.ndarray, t: float | None, rate: float | None) -> None:
        self.out.send_multipart(protocol.encode_window(stream, seq, samples, "<f8", t=t, rate=rate))

    def poll(self, channels: dict[str, Channel], counts: Counts, timeout_ms: int) -> None:
        """Deliver every answer that has arrived (waiting up to timeout_ms for the first)."""
        if not self.sub.poll(timeout_ms):
            return
        while True:
            try:
                frames = self.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if frames[0] == protocol.READY_TOPIC:
                continue
            msg = protocol.decode_message(frames)
            ch = channels.get(msg.stream)
            if ch is None or msg.seq is None:
                continue
            if msg.is_error:
                code = str(msg.body.get("error"))
                counts.errors[code] = counts.errors.get(code, 0) + 1
                ch.answer(msg.seq, None)
            else:
                ch.answer(msg.seq, msg.samples())

    def close(self) -> None:
        self.handshake.done()
        self.out.close(linger=2000)
        self.sub.close(linger=0)
