"""The clients. Files: publisher.py (send windows: `hush publish`), subscriber.py (receive answers:
`hush subscribe`), sinks.py (write answers to .csv/.jsonl/.npy, stitched or not), recording.py (the .hushrec
format and `hush record`), replay.py (`hush replay`), control.py (requests to a daemon's control socket:
`hush ctl`), security.py (CURVE keys: `hush keys`), handshake.py (why a client is not connected, from
ZeroMQ's socket monitor), bridge.py (what the bridges share: channels, windows out, answers stitched back),
lsl.py (`hush bridge lsl`), mqtt.py (`hush bridge mqtt`), xdf.py (`hush replay FILE.xdf`)."""
