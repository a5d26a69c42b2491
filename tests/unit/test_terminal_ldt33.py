"""terminal.Terminal and terminal.ldt33 against the built-in cards and the emulated PSAM: every
sample output of ssc-terminal.md §5 (parsed from docs/spec), the §5 gen3 trace with forced
challenges, the iReadCard example, the HSM-READ-G3 vector of §3, and ldt33 never raising."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cardkit import Challenges
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator import Card
from simulator.psam import Psam
from terminal import ParamError, PsamError, StubHsm, Terminal, ldt33
from terminal.transport import TracedSlot

SPEC = (Path(__file__).resolve().parents[2] / "docs" / "spec" / "ssc-terminal.md").read_text(encoding="utf-8")
SECTION5 = SPEC[SPEC.index("\n## 5. "):SPEC.index("\n## 6. ")]
ROW = re.compile(r"^\| (gen\d) \| (yes|no)([^|]*)\| `(.*)` \| `?(-?\d+)`? \|$", re.M)
SAMPLES = [(m.group(1), m.group(2) == "yes", "require_psam=True" in m.group(3), m.group(4).replace("\\|", "|"),
            int(m.group(5))) for m in ROW.finditer(SECTION5)]
R1, R2 = "A1A2A3A4A5A6A7A8", "B1B2B3B4B5B6B7B8"


def stream(*chunks: str):
    """An rng giving these bytes in order (a test hook, like the card's forced challenges)."""
    data = bytearray(bytes.fromhex("".join(chunks)))

    def take(n: int) -> bytes:
        assert len(data) >= n, "the terminal drew more random bytes than the test forced"
        out = bytes(data[:n])
        del data[:n]
        return out
    return take


def terminal(gen: str, psam: bool, *forced: str, rng=None, **settings) -> Terminal:
    card = Card.builtin(gen, random=Challenges(*forced))
    return Terminal(card, psam=Psam.builtin() if psam else None, rng=rng or os.urandom, **settings)


def test_section5_has_every_row():
    assert len(SAMPLES) == 5
    assert {(g, p, r) for g, p, r, _, _ in SAMPLES} == {("gen2", True, False), ("gen2", False, False),
                                                        ("gen3", True, False), ("gen3", False, False),
                                                        ("gen3", False, True)}


@pytest.mark.parametrize("gen,psam,require,expected,code", SAMPLES, ids=[f"{s[0]}-psam-{s[1]}-require-{s[2]}" for s in SAMPLES])
def test_read_card_bas_sample_outputs(gen, psam, require, expected, code):
    term = terminal(gen, psam, require_psam=require)
    assert ldt33.iReadCardBas(term, 1) == (code, expected)
    if code == 0:
        assert term.read_card_bas(1).to_ldt33() == expected


def test_gen3_psam_string_is_138_gbk_bytes():
    expected = next(s for g, p, _, s, _ in SAMPLES if g == "gen3" and p)
    assert len(expected.encode("gbk")) == 138


def test_require_psam_raises_psam_error_with_its_message():
    with pytest.raises(PsamError) as caught:
        terminal("gen3", False, require_psam=True).read_card_bas(1)
    assert (caught.value.code, caught.value.message) == (-2201, "无PSAM卡")


def _trace_lines() -> list[tuple[str, str, str]]:
    block = SECTION5[SECTION5.index("```\ncard >"):]
    block = block[4:block.index("```", 4)]
    out = []
    for line in block.strip().splitlines():
        slot, rest = line.split(" ", 1)
        for part in rest.split(" ; "):
            command, response = part.removeprefix("> ").split(" < ")
            out.append((slot, command.strip(), response.replace(" ", "")))
    return out


def test_gen3_trace_with_forced_challenges():
    log = []
    card = TracedSlot(Card.builtin("gen3", random=Challenges("1122334455667788")),
                      lambda c, r: c and log.append(("card", c.hex().upper(), r.hex().upper())))
    psam = TracedSlot(Psam.builtin(), lambda c, r: c and log.append(("psam", c.hex().upper(), r.hex().upper())))
    Terminal(card, psam=psam, rng=stream(R1, R2)).read_card_bas(1)
    expected = _trace_lines()
    assert [(s, c) for s, c, _ in log] == [(s, c) for s, c, _ in expected]
    for (_, command, got), (_, _, want) in zip(log, expected):
        head, _, tail = want.partition("…")  # the document elides long answers
        assert got.startswith(head) and got.endswith(tail), f"{command}: {got} is not {want}"


def test_read_card_example_of_section5():
    call = re.search(r'`iReadCard\((\d), (\d), "([^"]+)", "([^"]+)"\)`\s+on the (gen\d) sample returns `([^`]+)`',
                     SECTION5)
    itype, auth, card_info, file_addr, gen, expected = call.groups()
    term = terminal(gen, False)
    assert ldt33.iReadCard(term, int(itype), int(auth), card_info, file_addr) == (0, expected)


def test_hsm_two_step_read_is_vector_hsm_read_g3():
    vector = dict(re.findall(r"^(\w+)\s+= (.+)$", SPEC[SPEC.index("vector   : HSM-READ-G3"):].split("```")[0], re.M))
    rng = stream(vector["S1"], vector["S2"], vector["S3"])
    term = terminal("gen3", False, vector["S4"], rng=rng)
    step1 = term.read_card_bas_hsm_step1(1)
    assert step1 == vector["STEP1"]
    hsm = StubHsm()
    assert hsm.authenticate(step1, "read-basic") == vector["PKEY"]
    with_psam = next(s for g, p, _, s, _ in SAMPLES if g == "gen3" and p)
    fields = with_psam.split("|")
    fields[9] = ""  # no PSAM: no terminal number
    assert term.read_card_bas_hsm_step2(vector["PKEY"]).to_ldt33() == "|".join(fields)


def test_read_card_bas_asks_the_hsm_itself_without_a_psam():
    """`_Step1To2`: with an HSM and no PSAM a gen3 read is whole (but for the terminal number)."""
    hsm = StubHsm()
    basic = terminal("gen3", False, rng=stream("01" * 24), hsm=hsm).read_card_bas(1)
    assert basic.name == "张三" and basic.ssn == "440305198503151238" and basic.terminal_no == ""
    assert [purpose for _, purpose in hsm.requests] == ["read-basic"]


def test_hsm_step2_refuses_a_wrong_internal_answer_and_other_keys():
    term = terminal("gen3", False, rng=stream("01" * 24))
    good = StubHsm().authenticate(term.read_card_bas_hsm_step1(1), "read-basic")
    bad = ("00" if good[:2] != "00" else "11") + good[2:]
    assert ldt33.iReadCardBas_HSM_Step2(term, bad)[0] == -25
    assert ldt33.iReadCardBas_HSM_Step2(term, good)[0] == -12  # step 2 ends the pending read
    assert ldt33.iReadCardBas_HSM_Step1(terminal("gen2", False), 1)[0] == -2204


def test_bad_itype_is_minus_1():
    assert ldt33.iReadCardBas(terminal("gen2", False), 7) == (-1, "卡类型不对")
    with pytest.raises(ParamError):
        terminal("gen2", False).read_card_bas(0)


def test_contactless_slot_and_automatic_itypes():
    card = Card.builtin("gen2")
    assert ldt33.iReadCardBas(Terminal(None, card), 2)[0] == 0
    assert ldt33.iReadCardBas(Terminal(None, card), 3)[0] == 0   # contact first, then contactless
    assert ldt33.iReadCardBas(Terminal(None, card), 1)[0] == -2  # no contact card


TEXT = st.text(alphabet=st.sampled_from("0123456789ABCDEFSEFD$|张 x"), max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(itype=st.integers(-2, 6), auth=st.integers(-1, 4), card_info=TEXT, file_addr=TEXT, data=TEXT, key=TEXT)
def test_ldt33_never_raises(itype, auth, card_info, file_addr, data, key):
    term = terminal("gen3", True, rng=stream("00" * 200), pin_pad=lambda prompt: "123456")
    for result in (ldt33.iReadCard(term, itype, auth, card_info, file_addr),
                   ldt33.iWriteCard(term, itype, card_info, file_addr, data),
                   ldt33.iReloadPIN(term, itype, card_info), ldt33.iUnblockPIN(term, itype, card_info),
                   ldt33.iReadCardBas_HSM_Step2(term, key), ldt33.iVerifyPIN(term, itype)):
        code, text = result
        assert isinstance(code, int) and isinstance(text, str)
        assert code <= 0
