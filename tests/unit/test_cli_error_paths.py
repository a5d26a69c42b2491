"""Every CLI error path of issue 12: each subcommand with bad input ends with one clear line and
its documented exit code (sscard/exitcodes.py), never a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conformance.vectors import DEFAULT_VECTORS
from sscard import exitcodes
from sscard.cli import COMMANDS, cli

SELECT = str(DEFAULT_VECTORS / "select.yaml")  # one shipped file: independent of the rest of the suite
BAD_IMAGE = "profile: [gen2]\n"
BAD_VECTOR = "area: SEL\ntitle: x\ncases:\n  - id: SSC.SEL.1\n    title: [\n"
BAD_SESSION = '{"format": "sscard-session/1", "entries": 5}'
NO_READER = "no such reader 4711"

# (arguments, exit code, a line the error output holds). Files: bad.yaml (a card image whose
# profile is a list), badvec/ (a vector file cut mid-way), bad.json (not a session), nothere/ (no
# such directory). A missing reader is unreachable whether pcscd runs or not.
CASES = [
    # run
    (["run", "--image", "nope.yaml"], 2, "Error: Invalid value for '--image': File 'nope.yaml' does not exist."),
    (["run", "--image", "bad.yaml", "--vectors", SELECT], 2, "Error: bad.yaml:1: profile must be one of gen1, gen2, gen3"),
    (["run", "--vectors", "badvec"], 2, "badvec/a.yaml:6: YAML syntax: did not find expected node content"),
    (["run", "--vectors", "nothere"], 2, "Error: Invalid value for '--vectors': Path 'nothere' does not exist."),
    (["run", "--vectors", SELECT, "-k", "PIN and ("], 2,
     "Error: -k 'PIN and (': ends too early (a word, 'not' or '(' is missing at the end)"),
    (["run", "--vectors", SELECT, "-k", "SEL )"], 2, "Error: -k 'SEL )': unexpected ')'"),
    (["run", "--vectors", SELECT, "-k", "(" * 60 + "SEL" + ")" * 60], 2, "nested more than 50 deep"),
    (["run", "--vectors", SELECT, "-k", "NOSUCHTHING"], 2, "Error: -k 'NOSUCHTHING' selects none of the"),
    (["run", "--vectors", SELECT, "--replay", "bad.json"], 2,
     "Error: bad.json: a JSON session is an object with 'exchanges' (or a list of exchanges)"),
    (["run", "--vectors", SELECT, "--builtin", "gen7"], 2, "'gen7' is not one of gen1, gen2, gen3"),
    (["run", "--vectors", SELECT, "--json", "/proc/r.json"], 4,
     "Error: cannot write /proc/r.json: No such file or directory"),
    (["run", "--vectors", SELECT, "--json", "/dev/full"], 4, "Error: cannot write /dev/full: it is not a regular file"),
    (["run", "--vectors", SELECT, "--html", "nothere/r.html"], 4,
     "directory nothere does not exist (only reports/ is created)"),
    (["run", "--vectors", SELECT, "--reader", NO_READER], 3, "cannot reach the card"),
    # card
    (["card", "show", "nope.yaml"], 2, "nope.yaml"),
    (["card", "show", "bad.yaml"], 2, "sscard: bad.yaml:1: profile must be one of gen1, gen2, gen3"),
    (["card", "read", "bad.yaml"], 2, "sscard: bad.yaml:1: profile must be one of gen1, gen2, gen3"),
    (["card", "new", "--profile", "gen2", "--out", "bad.yaml"], 2, "sscard: bad.yaml exists; use --force to overwrite it"),
    (["card", "new", "--profile", "gen2", "--out", "nothere/c.yaml"], 4, "sscard: cannot write nothere/c.yaml"),
    (["card", "read"], 2, "give one of PATH, --builtin PROFILE, --new PROFILE"),
    # apdu
    (["apdu", "00A4ZZ00"], 2, "has non-hex characters: 'Z'"),
    (["apdu", "--image", "bad.yaml", "00A40000"], 2, "error: bad.yaml:1: profile must be one of gen1, gen2, gen3"),
    (["apdu", "--reader", NO_READER, "00A40000"], 3, "error: "),
    # vectors
    (["vectors", "check", "badvec"], 2, "badvec/a.yaml:6: YAML syntax: did not find expected node content"),
    (["vectors", "check", "nothere"], 2, "Path 'nothere' does not exist"),
    (["vectors", "from-session", "bad.json"], 2,
     "Error: bad.json: a JSON session is an object with 'exchanges' (or a list of exchanges)"),
    (["vectors", "from-session", "session.json", "--out", "nothere/v.yaml"], 4,
     "Error: cannot write nothere/v.yaml: directory nothere does not exist"),
    # serve, record
    (["serve"], 2, "give at least one --image CARD.yaml or --builtin gen1|gen2|gen3"),
    (["serve", "--image", "bad.yaml"], 2, "bad.yaml:1: profile must be one of gen1, gen2, gen3"),
    (["record", "--reader", NO_READER, "--out", "nothere/s.json"], 4,
     "Error: cannot write nothere/s.json: directory nothere does not exist"),
    (["record", "--reader", NO_READER, "--out", "s.json"], 3, "Error: "),
]

SESSION = ('{"format": "sscard-session/1", "atr": "3B00", "exchanges": '
           '[{"command": "00A4040000", "response": "6A82"}]}')


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(BAD_IMAGE)
    (tmp_path / "badvec").mkdir()
    (tmp_path / "badvec" / "a.yaml").write_text(BAD_VECTOR)
    (tmp_path / "bad.json").write_text(BAD_SESSION)
    (tmp_path / "session.json").write_text(SESSION)
    return tmp_path


@pytest.mark.parametrize("args, code, line", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_error_path(workdir, args, code, line):
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert line in result.output
    assert not list(workdir.rglob("*.tmp")) and not (workdir / "reports").exists()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_answers_help_and_refuses_an_unknown_option(name):
    runner = CliRunner()
    assert runner.invoke(cli, [name, "--help"]).exit_code == exitcodes.PASSED
    wrong = runner.invoke(cli, [name, "--no-such-option"])
    assert wrong.exit_code == exitcodes.BAD_INPUT and "No such option '--no-such-option'" in wrong.output


@pytest.mark.parametrize("args", [["apdu", "--image", "{image}", "00A4000000"], ["card", "show", "{image}"],
                                  ["serve", "--image", "{image}"]])
def test_an_image_another_holder_has_is_unreachable(tmp_path, args):
    from simulator import Card

    image = tmp_path / "card.yaml"
    assert CliRunner().invoke(cli, ["card", "new", "--profile", "gen2", "--out", str(image), "--seed", "1"]).exit_code == 0
    holder = Card.from_image(image, lock=True)  # as `sscard serve` holds it
    try:
        result = CliRunner().invoke(cli, [a.format(image=image) for a in args])
    finally:
        holder.close()
    assert result.exit_code == exitcodes.UNREACHABLE, result.output
    assert "in use" in result.output and "Traceback" not in result.output


def test_markup_and_escapes_in_an_image_are_shown_as_text(tmp_path):
    import yaml

    image = tmp_path / "card.yaml"
    assert CliRunner().invoke(cli, ["card", "new", "--profile", "gen2", "--out", str(image), "--seed", "2"]).exit_code == 0
    doc = yaml.safe_load(image.read_text(encoding="utf-8"))
    doc["person"].update(name="[/bold] 张", note="[/] note \x1b[2J")
    image.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    for command in ("show", "read"):
        result = CliRunner().invoke(cli, ["card", command, str(image)])
        assert result.exit_code == 0, result.output
        assert "[/] note \\x1b[2J" in result.output and "\x1b" not in result.output
    assert "name [/bold] 张" in CliRunner().invoke(cli, ["card", "show", str(image)]).output
