"""A minimal XDF 1.0 writer (the format LabRecorder writes: https://github.com/sccn/xdf/wiki/Specifications),
for tests: a file header, then per stream a header, its samples with a time stamp each, and a footer."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return b"\x08" + struct.pack("<Q", len(body)) + body


def write_xdf(path: Path, streams: list[dict]) -> None:
    """streams: dicts with name, type, rate, labels, data (n, channels) float32, stamps (n,)."""
    out = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams, start=1):
        chans = "".join(f"<channel><label>{lab}</label></channel>" for lab in s["labels"])
        xml = (f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>{s["type"]}</type>'
               f'<channel_count>{len(s["labels"])}</channel_count><nominal_srate>{s["rate"]}</nominal_srate>'
               f'<channel_format>float32</channel_format><created_at>0</created_at>'
               f'<desc><channels>{chans}</channels></desc></info>')
        out.append(_chunk(2, struct.pack("<I", sid) + xml.encode()))
        data, stamps = np.asarray(s["data"], np.float32), np.asarray(s["stamps"], np.float64)
        for lo in range(0, len(data), 500):
            rows = b"".join(b"\x08" + struct.pack("<d", t) + row.tobytes()
                            for row, t in zip(data[lo:lo + 500], stamps[lo:lo + 500], strict=True))
            count = len(data[lo:lo + 500])
            out.append(_chunk(3, struct.pack("<I", sid) + b"\x04" + struct.pack("<I", count) + rows))
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{stamps[0]}</first_timestamp><last_timestamp>'
                  f'{stamps[-1]}</last_timestamp><sample_count>{len(data)}</sample_count></info>')
        out.append(_chunk(6, struct.pack("<I", sid) + footer.encode()))
    path.write_bytes(b"".join(out))
