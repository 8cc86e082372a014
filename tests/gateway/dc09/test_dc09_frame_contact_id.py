"""DC-09 framing and the Contact ID mapping, without any network (issue 12)."""

from __future__ import annotations

import time

import pytest
from pysiaalarm import SIAAccount, SIAEvent

from gateway.catalogue import CATALOGUE, RESTORE, STATUS_REPORT
from gateway.dc09.contact_id import AccountMap, Report, code_for, report_for
from gateway.dc09.frame import (
    FrameError,
    Header,
    crc16,
    decode_response,
    encode,
    parse_key,
)

ASCII_KEY = "AAAABBBBCCCCDDDD"


def test_crc16_is_crc16_arc():
    assert crc16(b"123456789") == 0xBB3D                      # the CRC-16/ARC check value
    assert crc16(b"") == 0


@pytest.mark.parametrize("key", [None, ASCII_KEY.encode()])
def test_our_frames_parse_in_pysiaalarm_with_the_right_fields(key):
    frame = encode("ADM-CID", 42, Header("0123"), Report(3, 381, 1, 17).data("0123"),
                   time.time(), key)
    account = SIAAccount("0123", ASCII_KEY if key else None)
    ev = SIAEvent.from_line(frame.decode().strip(), {"0123": account})
    assert ev.valid_message and ev.valid_timestamp
    assert (ev.account, ev.sequence, ev.event_qualifier, ev.event_type, ev.partition, ev.ri) == \
        ("0123", "0042", "3", "381", "01", "017")
    assert decode_response(ev.create_response(), key).token == "ACK"


def test_a_response_with_a_bad_crc_or_a_foreign_key_is_refused():
    good = SIAEvent.from_line(encode("NULL", 1, Header("123"), "", time.time()).decode().strip(),
                              {"123": SIAAccount("123")}).create_response()
    with pytest.raises(FrameError, match="CRC"):
        decode_response(good.replace(b"ACK", b"ACX"))
    key = ASCII_KEY.encode()
    enc = SIAEvent.from_line(encode("NULL", 1, Header("123"), "", time.time(), key).decode().strip(),
                             {"123": SIAAccount("123", ASCII_KEY)}).create_response()
    assert decode_response(enc, key).timestamp is not None
    with pytest.raises(FrameError, match="decrypt"):
        decode_response(enc, b"0" * 16)


def test_keys_are_hex_of_aes_128_192_or_256():
    assert parse_key("00" * 16) == bytes(16)
    for bad in ("00" * 15, "xyz", ASCII_KEY):
        with pytest.raises(ValueError):
            parse_key(bad)


def test_a_restore_and_a_trouble_differ_only_in_the_qualifier():
    silent = code_for({"type": "sensor_silent"})
    restored = code_for({"type": "sensor_restored"})
    still = code_for({"type": "sensor_still_silent"})
    assert silent == (1, 381) and restored == (RESTORE, 381) and still == (STATUS_REPORT, 381)


def test_a_suspected_fall_is_never_sent_as_the_fall_even_from_an_old_gateway():
    old_payload = {"type": "fall_suspected", "code": {"contact_id": 120}, "room": "bath"}
    assert report_for(old_payload, AccountMap(zones={"bath": 3})) is None
    assert report_for({"type": "fall", "room": "bath"}, AccountMap(zones={"bath": 3})) == \
        Report(1, 120, 1, 3)


def test_unknown_types_use_the_payloads_own_code_and_zones_fall_back_to_users():
    newer = {"type": "smoke", "code": {"contact_id": 111, "qualifier": 1}, "room": None,
             "sensor": "band-1"}
    assert report_for(newer, AccountMap(users={"band-1": 7})) == Report(1, 111, 1, 7)
    assert report_for({"type": "smoke", "code": {"contact_id": 5000}}, AccountMap()) is None
    assert report_for({"type": "sos", "room": "attic"}, AccountMap(zones={"bath": 3})) == \
        Report(1, 101, 1, 0)


def test_every_coded_catalogue_type_has_a_valid_qualifier():
    for t in CATALOGUE.values():
        assert t.qualifier in (1, 3, 6), t.name
        assert (t.contact_id == 0) or 100 <= t.contact_id <= 999, t.name


def test_the_contact_id_document_lists_every_type_as_the_catalogue_says():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[3] / "docs" / "contact-id.md").read_text()
    table = text.split("<!-- contact-id:begin -->", 1)[1].split("<!-- contact-id:end -->", 1)[0]
    rows = [r for r in table.strip().splitlines()[2:]]
    assert len(rows) == len(CATALOGUE)
    for row, t in zip(rows, CATALOGUE.values(), strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        code = f"`{t.qualifier} {t.contact_id:03d}`" if t.contact_id else "none"
        assert cells[:3] == [f"`{t.name}`", t.kind, code], row
