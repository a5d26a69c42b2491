"""sscard conformance: replay test vectors against any card and give certification-style verdicts.

Rooms (one idea each):

    vectors.py, yaml_lines.py      vector files -> Suite of Cases; every problem as file:line
    template.py, applicability.py  ${...} hex templates and `applies:` expressions (ast whitelists)
    expect.py, tlv.py              expectations (SW, data, mask, regex, length, TLV) and their diffs
    compute.py, card_under_test.py computed values from the card-under-test description's keys
    transport.py, processors.py    Transport (emulated, PC/SC, replay) and the processor chain
    sessions.py, from_session.py   recorded sessions in, vector files out
    card_model.py                  DF names/AIDs/FIDs for preconditions and DF tracking
    case_run.py, runner.py         one case; the suite run as events, with timeouts and faults
    verdict.py, events.py          verdicts, results, progress events
    provenance.py, reports/        provenance; JSON, JUnit, HTML, apdu4j (+ apdutool reader)
    targets.py                     open_target: built-in, image (locked), reader, replay -> transport + description
    parallel.py, batch_run.py      one worker per card at once; card after card in one reader
    cli_run.py                     what `sscard run` (sscard/run_cmd.py) calls: report planning and writing
    pytest_plugin.py, pytest_*.py  the vectors as pytest items (entry point pytest11); reports/batch.py merges runs
"""
