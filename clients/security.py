"""CURVE keys for clients: `hush keys` makes them; Publisher and Subscriber (`hush publish`, `hush subscribe`
--curve-key) use them; `hush replay` and `hush record` do not.

The daemon holds a secret key and a directory of the public keys it lets in. A client holds its own key
pair and the daemon's public key. Key files are ZeroMQ's certificate format (zmq.auth).
"""

from __future__ import annotations

from pathlib import Path

import zmq
import zmq.auth

from hush.errors import InputError


def make_keys(directory: str | Path, name: str, force: bool = False) -> tuple[Path, Path]:
    """Write NAME.key (public: give it to the other side) and NAME.key_secret (keep it) into directory. An
    existing pair is kept (InputError) unless `force`: replacing it locks out every peer that trusts it."""
    d = Path(directory)
    existing = [p for p in (d / f"{name}.key", d / f"{name}.key_secret") if p.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]} exists: a new key pair would lock out every peer that holds the old "
                         "public key; use --force to replace it")
    d.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(d), name)
    Path(secret).chmod(0o600)
    return Path(public), Path(secret)


def secure_client(sock: zmq.Socket, client_secret_file: str | Path, server_public_file: str | Path) -> None:
    """Make `sock` a CURVE client (before it connects)."""
    public, secret = zmq.auth.load_certificate(str(client_secret_file))
    if secret is None:
        raise InputError(f"{client_secret_file} holds no secret key (use the .key_secret file)")
    server_public, _ = zmq.auth.load_certificate(str(server_public_file))
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server_public
