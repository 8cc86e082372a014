"""`safehome decode --driver ti_mmwave` on capture files: a capture that starts mid-frame
and ends with a truncated frame yields every complete frame, one JSON line each, with
consecutive frame numbers and the point counts the headers announce (SDK 2.x and 3.x);
the summary on stderr counts frames decoded, dropped and bytes discarded."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from gateway.cli import main
from gateway.commands.decode import DECODERS
from simulator.emulators import ti_mmwave as E


def capture(tmp_path, name: str, sdk: int, first: int, count: int) -> tuple:
    rng = np.random.default_rng(first)
    frames = [E.oob_frame(first + k, rng.uniform(-2, 2, size=(int(rng.integers(0, 30)), 4)),
                          sdk=sdk, pad=int(rng.integers(0, 256))) for k in range(count)]
    head = len(frames[0]) // 2 + 3
    tail = len(frames[-1]) - 11
    data = b"".join(frames)[head:-(len(frames[-1]) - tail)]
    path = tmp_path / name
    path.write_bytes(data)
    discarded = (len(frames[0]) - head) + tail
    return path, discarded


def summary(err: str) -> dict[str, int]:
    return {k.strip().replace(" ", "_"): int(v) for k, v in re.findall(r"([a-z ]+): (\d+)", err)}


@pytest.mark.parametrize("sdk", [2, 3])
def test_json_lines_recover_every_complete_frame(tmp_path, capsys, sdk):
    path, discarded = capture(tmp_path, f"sdk{sdk}.bin", sdk, first=300, count=25)
    assert main(["decode", "--driver", "ti_mmwave", "--json", str(path)]) == 0
    out, err = capsys.readouterr()
    recs = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in recs] == list(range(301, 324))
    assert [len(r["points"]) for r in recs] == [r["num_detected_obj"] for r in recs]
    assert all(r["targets"] == [] for r in recs)
    assert {r["point_format"] for r in recs if r["points"]} == {"float" if sdk == 3 else "q"}
    s = summary(err.strip().splitlines()[-1].strip())
    assert s["frames_decoded"] == 23 and s["frames_dropped"] == 1
    assert s["bytes_discarded"] == discarded


def test_several_files_and_text_output(tmp_path, capsys):
    a, da = capture(tmp_path, "a.bin", 3, first=10, count=6)
    b, db = capture(tmp_path, "b.bin", 2, first=50, count=5)
    assert main(["decode", "--driver", "ti_mmwave", str(a), str(b)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [int(re.match(r"frame (\d+):", ln).group(1)) for ln in lines] == \
        [11, 12, 13, 14, 51, 52, 53]
    s = summary(err)
    assert (s["frames_decoded"], s["frames_dropped"], s["bytes_discarded"]) == (7, 2, da + db)


def test_people_tracking_frames_carry_targets(tmp_path, capsys):
    path = tmp_path / "track.bin"
    path.write_bytes(b"".join(E.walking_then_fall(5, first_frame=40)))
    assert main(["decode", "--driver", "ti_mmwave", "--json", str(path)]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in recs] == [40, 41, 42, 43, 44]
    assert all(len(r["points"]) == 8 and r["targets"][0]["tid"] == 1 for r in recs)
    assert recs[0]["targets"][0]["max_z"] == pytest.approx(1.7)


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["decode", "--driver", "ti_mmwave", str(tmp_path / "nope.bin")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_every_registered_decoder_follows_the_protocol():
    from gateway.commands.decode import make_decoder
    for name in DECODERS:
        dec = make_decoder(name)
        assert list(dec.feed(b"\x00" * 64)) == [] and list(dec.finish()) == []
        assert {"frames_decoded", "frames_dropped", "bytes_discarded"} <= set(dec.stats)


def test_capture_records_raw_bytes_from_a_serial_port_for_decode(tmp_path, capsys):
    """`safehome capture` on a pty fed by the emulator's frames, then decode the file."""
    import threading
    import time

    from simulator.emulators.pty import PtyPort

    port = PtyPort("data")
    frames = [E.oob_frame(n, np.array([[0.1 * n, 1.0, 0.0, 0.0]] * (n % 5))) for n in range(1, 31)]
    sent = b"".join(frames)

    def feeder() -> None:
        time.sleep(0.3)  # after capture has opened the port
        for f in frames:
            port.write(f)
            time.sleep(0.005)

    th = threading.Thread(target=feeder)
    th.start()
    out = tmp_path / "cap.bin"
    try:
        rc = main(["capture", "--port", port.path, "--baud", "921600", "-o", str(out),
                   "--duration", "1.2"])
    finally:
        th.join()
        port.close()
    assert rc == 0
    assert out.read_bytes() == sent
    assert f"captured {len(sent)} bytes" in capsys.readouterr().err
    assert main(["decode", "--driver", "ti_mmwave", "--json", str(out)]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["frame"] for r in recs] == list(range(1, 31))


def test_capture_names_a_missing_port(tmp_path, capsys):
    rc = main(["capture", "--port", str(tmp_path / "ttyUSB9"), "--baud", "115200",
               "-o", str(tmp_path / "x.bin"), "--duration", "0.1"])
    assert rc == 2 and "ttyUSB9" in capsys.readouterr().err
