from __future__ import annotations

import io
from pathlib import Path

import pytest

from hush.cli import COMMANDS, main, parser


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parser().parse_args([name, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"hush {name}" in out and "--config" in out


def test_all_commands_are_there() -> None:
    assert {"train", "serve", "publish", "subscribe", "record", "replay", "demo"} <= set(COMMANDS)


def test_missing_model_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model", str(tmp_path / "nope.keras")]) == 2
    assert f"hush serve: error: model file not found: {tmp_path / 'nope.keras'}" in capsys.readouterr().err


def test_bad_config_key_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[serve]\nmax_bach = 3\n")
    assert main(["serve", "--config", str(cfg)]) == 2
    assert "unknown key 'max_bach'" in capsys.readouterr().err


def test_bad_flag_value_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--max-batch", "0"]) == 2
    assert "command line --max-batch: max_batch must be an integer >= 1" in capsys.readouterr().err


def test_publish_rejects_a_bad_line_on_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                             server) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO("1.0\n2.0\nnan\n"))
    assert main(["publish", "--endpoint", server.input_endpoint, "--bad-lines", "stop"]) == 2
    assert "stdin line 3: 'nan' is not finite" in capsys.readouterr().err


def test_publish_without_a_daemon_times_out_clearly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[publish]\nconnect_timeout_s = 0.3\n")
    from hush.tools.spawn import free_port

    assert main(["publish", "--config", str(cfg), "--endpoint", f"tcp://127.0.0.1:{free_port()}"]) == 1
    assert "no Hush daemon subscribed at tcp://127.0.0.1:" in capsys.readouterr().err


def test_json_log_records() -> None:
    """One record, one JSON object (tests/test_cli_messages.py runs a daemon with JSON logs end to end)."""
    import json
    import logging

    from hush.cli.base import JsonFormatter

    record = logging.LogRecord("hush.serve", logging.INFO, __file__, 1, "serving model %s", ("m-1",), None)
    out = json.loads(JsonFormatter().format(record))
    assert out["msg"] == "serving model m-1" and out["level"] == "INFO" and out["logger"] == "hush.serve"


def test_keys_command(tmp_path: Path) -> None:
    assert main(["keys", str(tmp_path), "server", "pump-3"]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {"server.key", "server.key_secret", "pump-3.key",
                                                   "pump-3.key_secret"}
    assert oct((tmp_path / "pump-3.key_secret").stat().st_mode & 0o777) == "0o600"


def test_settings_flags_are_the_config_fields_themselves() -> None:
    """A setting is declared once, in hush/config.py: its flag takes the field's help, type and choices."""
    import dataclasses

    from hush.config import ServeConfig

    serve = next(a for a in parser()._subparsers._group_actions[0].choices["serve"]._actions  # type: ignore[union-attr]
                 if a.dest == "max_batch")
    field = next(f for f in dataclasses.fields(ServeConfig) if f.name == "max_batch")
    assert serve.help == field.metadata["help"] and serve.type is int and serve.default is None
    with pytest.raises(SystemExit):  # argparse refuses a value outside the field's choices
        parser().parse_args(["serve", "--engine", "warp"])


def test_an_unexpected_exception_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only library errors become one-line messages; a bug is not dressed up as a user error."""
    import hush.cli.base

    def broken(args: object, cfg: object) -> int:
        raise ValueError("a bug, not bad input")

    monkeypatch.setitem(hush.cli.base.COMMANDS, "keys", hush.cli.base.COMMANDS["keys"].__class__(
        "help", "example", hush.cli.base.COMMANDS["keys"].flags, broken))
    with pytest.raises(ValueError, match="a bug, not bad input"):
        main(["keys", "somewhere", "x"])


def test_keys_are_never_overwritten_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", str(tmp_path), "server"]) == 0
    before = (tmp_path / "server.key_secret").read_bytes()
    assert main(["keys", str(tmp_path), "server"]) == 2
    err = capsys.readouterr().err
    assert "server.key exists" in err and "use --force to replace it" in err
    assert (tmp_path / "server.key_secret").read_bytes() == before
    assert main(["keys", str(tmp_path), "server", "--force"]) == 0
    assert (tmp_path / "server.key_secret").read_bytes() != before


def test_ctl_names_what_it_needs_and_what_it_tried(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[serve]\ncontrol = \"\"\n")
    assert main(["ctl", "stats", "--config", str(cfg)]) == 2
    assert "no control endpoint: give --endpoint, or set [serve] control" in capsys.readouterr().err
    from hush.tools.spawn import loopback

    nobody = loopback()
    assert main(["ctl", "stats", "--endpoint", nobody, "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert f"no answer from the daemon's control endpoint {nobody} within 1 s: nothing answered at" in err


def test_ctl_reload_sends_an_absolute_path(tiny_runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from hush.tools.spawn import loopback
    from tests.conftest import running

    (tmp_path / "junk.keras").write_text("not a model")
    monkeypatch.chdir(tmp_path)
    with running(tiny_runner, control=loopback()) as srv:
        assert main(["ctl", "reload", "--model", "junk.keras", "--endpoint", srv.control_endpoint]) == 1
    assert f"refused {tmp_path / 'junk.keras'}:" in capsys.readouterr().out
