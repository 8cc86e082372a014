"""`safehome trace import-events`: CASAS and Home Assistant event logs become traces whose
streams say room, kind and role; bad input stops with file:line and exit 2; nothing is
dropped without being counted."""

from __future__ import annotations

import gzip
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.cli import main
from gateway.trace.eventimport import EventLogError, import_events
from gateway.trace.replay import config_for
from gateway.trace.sensormap import room_from_name
from sensordata.readings import Contact, Motion
from sensordata.trace.reader import TraceReader

TZ = "America/Los_Angeles"
LOG = """2016-07-12 07:00:00.100000\tBedroomAArea\tON\tSleeping end
2016-07-12 07:00:01.200000\tBedroomAArea\tOFF\t
2016-07-12 07:00:05.000000\tKitchenASink\tON\t
2016-07-12 07:00:06.000000\tKitchenASink\tOFF\t
2016-07-12 07:01:00.000000\tMainEntryway\tON\t
2016-07-12 07:01:02.000000\tMainEntryway\tOFF\t
2016-07-12 07:01:30.000000\tT001\t21.5\t
"""


def streams(path):
    return {s.sensor: s for s in TraceReader(str(path)).streams()}


def test_a_casas_log_without_a_map_gets_rooms_and_kinds_from_the_names(tmp_path):
    log = tmp_path / "home.txt"
    log.write_text(LOG)
    rep = import_events([str(log)], tmp_path / "t.mcap", timezone=TZ)
    s = streams(tmp_path / "t.mcap")
    assert (s["BedroomAArea"].room, s["BedroomAArea"].kind) == ("bedroom", "motion")
    assert s["KitchenASink"].room == "kitchen"
    assert (s["MainEntryway"].room, s["MainEntryway"].role) == ("entrance", "entrance")
    assert "T001" not in s, "numbers are a temperature, not a binary sensor"
    assert rep.ignored == {"kind ignore: numeric states (a temperature or light level)": 1}
    assert sum(rep.written.values()) == 6 and rep.lines == 7
    table = rep.table()
    assert "MainEntryway" in table and "entrance" in table and "1 ignored" in table
    readings = list(TraceReader(str(tmp_path / "t.mcap")).readings())
    first = readings[0]
    assert isinstance(first, Motion) and first.active
    assert first.t == pytest.approx(datetime(2016, 7, 12, 7, 0, 0, 100000,
                                             tzinfo=ZoneInfo(TZ)).timestamp())
    cfg = config_for(TraceReader(str(tmp_path / "t.mcap")))
    assert cfg.timezone == TZ and {r.id for r in cfg.rooms} >= {"bedroom", "kitchen", "entrance"}


def test_the_space_separated_variant_and_gzip_read_the_same(tmp_path):
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("\n".join(" ".join(line.split("\t")) for line in LOG.splitlines()) + "\n")
    gz = tmp_path / "home.txt.gz"
    gz.write_bytes(gzip.compress(LOG.encode()))
    a = import_events([str(spaced)], tmp_path / "a.mcap", timezone=TZ)
    b = import_events([str(gz)], tmp_path / "b.mcap", timezone=TZ)
    assert a.written == b.written and a.first == b.first


def test_activity_annotations_become_ground_truth_labels(tmp_path):
    log = tmp_path / "labels.txt"
    log.write_text("2010-11-04 00:03:50.209589 M003 ON Sleeping begin\n"
                   "2010-11-04 00:03:57.399391 M003 OFF\n"
                   "2010-11-04 05:40:43.642664 M003 ON Sleeping end\n"
                   "2010-11-04 05:41:00.000000 M004 ON Meal_Preparation\n"
                   "2010-11-04 05:42:00.000000 M004 OFF Meal_Preparation\n"
                   "2010-11-04 05:50:00.000000 M004 ON\n")
    m = tmp_path / "map.csv"
    m.write_text("sensor,room,kind\nM003,bedroom,motion\nM004,kitchen,motion\n")
    rep = import_events([str(log)], tmp_path / "l.mcap", map_path=str(m), timezone=TZ)
    labels = sorted(TraceReader(str(tmp_path / "l.mcap")).labels(), key=lambda lb: lb.t)
    assert rep.labels == 2
    assert [(lb.what, lb.room, round(lb.end - lb.t)) for lb in labels] == [
        ("Sleeping", "bedroom", 5 * 3600 + 36 * 60 + 53), ("Meal_Preparation", "kitchen", 60)]
    assert all(lb.expect == () for lb in labels), "ordinary life: nothing to detect"


def test_a_map_gives_rooms_kinds_and_the_front_door(tmp_path):
    log = tmp_path / "m.txt"
    log.write_text("2011-06-15 08:00:00.000000\tM001\tON\n"
                   "2011-06-15 08:00:02.000000\tM001\tOFF\n"
                   "2011-06-15 08:01:00.000000\tD001\tOPEN\n"
                   "2011-06-15 08:01:05.000000\tD001\tCLOSE\n"
                   "2011-06-15 08:02:00.000000\tL001\tON\n"
                   "2011-06-15 08:03:00.000000\tT001\t20.5\n")
    m = tmp_path / "map.csv"
    m.write_text("sensor,room,kind\nM001,Living Room,motion\nD001,entrance,door\n"
                 "L001,kitchen,light\n")
    rep = import_events([str(log)], tmp_path / "m.mcap", map_path=str(m), timezone=TZ)
    s = streams(tmp_path / "m.mcap")
    assert s["M001"].room == "living_room"
    assert (s["D001"].kind, s["D001"].role) == ("contact", "outer_door")
    assert s["L001"].kind == "button"
    assert rep.ignored == {"kind ignore: not in the map; numeric states": 1}
    door = [r for r in TraceReader(str(tmp_path / "m.mcap")).readings() if r.sensor == "D001"]
    assert [(type(r), r.open) for r in door] == [(Contact, True), (Contact, False)]


@pytest.mark.parametrize("lines, map_text, message", [
    (["2016-07-12 07:00:00\tKitchenASink\tMAYBE"], None,
     "x.txt:1: state 'MAYBE' of KitchenASink (motion) is not one of ON/OFF"),
    (["2016-07-12 07:00:00\tKitchenASink\tON", "2016-07-12 06:00:00\tKitchenASink\tOFF"], None,
     "x.txt:2: time goes back 3600.0 s"),
    (["2016-07-12 07:00:00\tM001\tON"], None,
     "x.txt:1: ids like M001 name no room; give --map MAP.csv"),
    (["2016-07-12 07:00:00\tM001\tON", "2016-07-12 07:00:01\tM002\tON"], "sensor,room,kind\nM001,hall,motion\n",
     "x.txt:2: sensor M002 is not in the map; add a line 'M002,ROOM,KIND'"),
    (["2016-07-12 07:00:00\tM001\tON"], "sensor,room,kind\nM001,hall,radar\n",
     "map.csv:2: kind 'radar' of M001 is not one of motion, door, bed, contact, light, ignore"),
    (["yesterday\tM001\tON\t"], None, "x.txt:1: 'yesterday\\tM001\\tON\\t' is not 'date time"),
    (["2016-07-12 25:00:00\tKitchenASink\tON"], None,
     "x.txt:1: '2016-07-12 25:00:00' is not a date and time"),
])
def test_bad_input_names_the_file_and_line(tmp_path, lines, map_text, message):
    log = tmp_path / "x.txt"
    log.write_text("\n".join(lines) + "\n")
    mp = None
    if map_text is not None:
        (tmp_path / "map.csv").write_text(map_text)
        mp = str(tmp_path / "map.csv")
    with pytest.raises(EventLogError) as err:
        import_events([str(log)], tmp_path / "x.mcap", map_path=mp, timezone=TZ)
    assert message in str(err.value).replace(str(tmp_path) + "/", "")
    assert not (tmp_path / "x.mcap").exists(), "no half-written trace"


def test_the_cli_prints_the_decisions_and_exits_2_on_bad_input(tmp_path, capsys):
    log = tmp_path / "home.txt"
    log.write_text(LOG)
    assert main(["trace", "import-events", str(log), "-o", str(tmp_path / "t.mcap"),
                 "--timezone", TZ]) == 0
    err = capsys.readouterr().err
    assert "BedroomAArea" in err and "decided from" in err and "7 lines: 6 readings written" in err
    log.write_text("2016-07-12 07:00:00\tM001\tON\n")
    assert main(["trace", "import-events", str(log), "-o", str(tmp_path / "u.mcap")]) == 2
    assert "--map" in capsys.readouterr().err
    assert main(["trace", "import-events", str(log), "-o", str(tmp_path / "u.mcap"),
                 "--timezone", "Mars/Olympus"]) == 2
    assert "IANA" in capsys.readouterr().err


def test_the_repeated_hour_of_an_autumn_clock_change_is_not_time_going_back(tmp_path):
    log = tmp_path / "dst.txt"
    log.write_text("2016-11-06 01:50:00\tKitchenASink\tON\n"     # PDT
                   "2016-11-06 01:10:00\tKitchenASink\tOFF\n"    # the second 01:10: PST
                   "2016-11-06 01:20:00\tKitchenASink\tON\n")
    rep = import_events([str(log)], tmp_path / "d.mcap", timezone=TZ)
    assert rep.dst_folds == 2
    assert rep.last - rep.first == pytest.approx(30 * 60)


def test_home_assistant_history_csv(tmp_path):
    csv_file = tmp_path / "history.csv"
    csv_file.write_text("entity_id,state,last_changed\n"
                        "binary_sensor.kitchen_motion,on,2024-03-02T07:15:02.123Z\n"
                        "binary_sensor.kitchen_motion,off,2024-03-02T07:16:02.123Z\n"
                        "binary_sensor.front_door,on,2024-03-02T08:00:00+00:00\n"
                        "binary_sensor.front_door,unavailable,2024-03-02T08:05:00+00:00\n"
                        "sensor.bedroom_temperature,21.2,2024-03-02T08:06:00+00:00\n")
    rep = import_events([str(csv_file)], tmp_path / "h.mcap", fmt="ha-history", timezone="UTC")
    s = streams(tmp_path / "h.mcap")
    assert (s["binary_sensor.kitchen_motion"].room, s["binary_sensor.kitchen_motion"].kind) == \
        ("kitchen", "motion")
    assert (s["binary_sensor.front_door"].role, s["binary_sensor.front_door"].kind) == \
        ("outer_door", "contact")
    assert sum(rep.written.values()) == 3 and sum(rep.ignored.values()) == 2


@pytest.mark.parametrize("name, room", [
    ("BedroomAArea", "bedroom"), ("BedroomABed", "bedroom"), ("KitchenASink", "kitchen"),
    ("KitchenADiningChair", "kitchen"), ("DiningRoomAArea", "dining"),
    ("MainEntryway", "entrance"), ("EntrywayB", "entrance"), ("HallwayA", "hall"),
    ("OfficeAChair", "office"), ("LivingRoomAArea", "living"), ("BathroomAToilet", "bathroom"),
    ("M001", None)])
def test_casas_names_say_the_room(name, room):
    assert room_from_name(name) == room


@pytest.mark.parametrize("row, role", [
    ("D001,hall,door", "outer_door"), ("D001,front door,door", "outer_door"),
    ("D001,kitchen,door", "outer_door"), ("D001,bathroom,door", None),
    ("D001,Bedroom,door", None), ("D001,hall,door,none", None),
    ("D001,hall,door,", "outer_door"), ("D001,entry,motion", "entrance"),
    ("D001,hall,motion", None), ("D001,hall,motion,entrance", "entrance"),
    ("D001,bedroom,bed", "bed")])
def test_the_map_decides_the_way_out(tmp_path, row, role):
    from gateway.trace.sensormap import read_map
    (tmp_path / "map.csv").write_text("sensor,room,kind,role\n" + row + "\n")
    assert read_map(str(tmp_path / "map.csv"))["D001"].role == role
