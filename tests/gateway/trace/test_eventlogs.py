"""Reading real CASAS lines (gateway/trace/eventlogs.py, through the import): a sensor-type
column is not an activity label, location names between the id and the state are the
sensor's other names, late lines are put in time order (too late: an error naming the
line), a repeated line is written once, an entry PIR in a room named as people name it
is the entrance."""

from __future__ import annotations

import pytest

from gateway.trace.eventimport import EventLogError, import_events
from gateway.trace.sensormap import is_entrance
from sensordata.readings import Motion, reading_time
from sensordata.trace.reader import TraceReader

TZ = "America/Los_Angeles"


def _import(tmp_path, text, map_text=None):
    log = tmp_path / "x.txt"
    log.write_text(text)
    mp = None
    if map_text is not None:
        (tmp_path / "map.csv").write_text(map_text)
        mp = str(tmp_path / "map.csv")
    rep = import_events([str(log)], tmp_path / "x.mcap", map_path=mp, timezone=TZ)
    reader = TraceReader(str(tmp_path / "x.mcap"))
    return rep, reader


def test_a_sensor_type_column_is_not_an_activity_label(tmp_path):
    text = ("2012-07-20 09:16:58.547795\tBedroomAArea\tON\tControl4-Motion\tSleeping end\n"
            "2012-07-20 09:16:59.100000\tBedroomAArea\tOFF\tControl4-Motion\n"
            "2012-07-20 09:17:30.000000\tBedroomADoor\tON\tControl4-Door\n"
            "2012-07-20 09:18:00.000000\tKitchenATemperature\t21.5\tControl4-Temperature\n"
            "2012-07-20 09:19:00.000000\tKitchenAArea\tON\tControl4-Motion\tSleeping begin\n")
    rep, reader = _import(tmp_path, text)
    assert {lb.what for lb in reader.labels()} == {"Sleeping"}
    assert rep.labels == 1
    streams = {s.sensor: s for s in reader.streams()}
    assert streams["BedroomADoor"].kind == "contact", "the type column says door, not motion"
    assert "KitchenATemperature" not in streams


def test_location_names_between_the_id_and_the_state_are_the_sensors_other_names(tmp_path):
    text = ("2011-06-15 00:06:32.834414\tM003\tBedroom\tBedroom\tON\tSleep\n"
            "2011-06-15 00:06:34.000000\tM003\tBedroom\tBedroom\tOFF\n"
            "2011-06-15 00:07:00.000000\tT101\tKitchen\tKitchen\t21.0\n")
    rep, reader = _import(tmp_path, text)
    streams = {s.sensor: s for s in reader.streams()}
    assert streams["M003"].room == "bedroom", "the room from its location name"
    assert [type(r) for r in reader.readings()] == [Motion, Motion]
    rep, reader = _import(tmp_path, text, "sensor,room,kind\nBedroom,bedroom,motion\n"
                                          "Kitchen,kitchen,ignore\n")
    assert {s.sensor: s.room for s in reader.streams()} == {"M003": "bedroom"}


def test_late_lines_are_put_in_time_order_and_counted(tmp_path):
    text = ("2016-07-12 07:00:00\tKitchenASink\tON\n"
            "2016-07-12 07:02:00\tKitchenASink\tOFF\n"
            "2016-07-12 07:00:30\tBedroomAArea\tON\n"     # 90 s late: a second hub's message
            "2016-07-12 07:03:00\tBedroomAArea\tOFF\n")
    rep, reader = _import(tmp_path, text)
    times = [reading_time(r) for r in reader.readings()]
    assert times == sorted(times) and rep.stepped_back == 1
    assert "1 lines up to 300 s late put in time order" in rep.table()


def test_a_line_far_behind_its_neighbours_stops_the_import_naming_it(tmp_path):
    text = ("2016-07-12 07:00:00\tKitchenASink\tON\n"
            "2016-07-12 07:20:00\tKitchenASink\tOFF\n"
            "2016-07-12 07:05:00\tBedroomAArea\tON\n")
    with pytest.raises(EventLogError, match=r"x.txt:3: time goes back 900.0 s"):
        _import(tmp_path, text)
    assert not (tmp_path / "x.mcap").exists()


def test_a_repeated_line_is_written_once_and_counted(tmp_path):
    line = "2016-07-12 07:00:00.250000\tKitchenASink\tON\n"
    rep, reader = _import(tmp_path, line + line + "2016-07-12 07:00:02\tKitchenASink\tOFF\n")
    assert len(list(reader.readings())) == 2 and rep.duplicates == 1
    assert "1 repeated lines" in rep.table()


@pytest.mark.parametrize("room, entrance", [
    ("entrance", True), ("entry", True), ("entry_hall", True), ("front_entry", True),
    ("mainentryway", True), ("mudroom", True), ("hall", False), ("central_hall", False),
    ("work_area", False), (None, False)])
def test_an_entry_pir_is_the_entrance_whatever_the_map_calls_it(room, entrance):
    assert is_entrance(room) is entrance


def test_a_column_header_is_skipped_and_comma_separated_lines_read(tmp_path):
    text = ("Date,Time,Sensor,Status,Activity\n"
            "2016-07-12,07:00:00.100000,KitchenASink,ON,Cook\n"
            "2016-07-12,07:00:02.000000,KitchenASink,OFF,Cook\n")
    rep, reader = _import(tmp_path, text)
    assert rep.lines == 2 and [r.active for r in reader.readings()] == [True, False]
    assert [lb.what for lb in reader.labels()] == ["Cook"]


def test_a_logger_without_daylight_saving_read_in_a_zone_with_it_is_told_the_fix(tmp_path):
    # standard time all year: at the spring change the log runs on through 02:xx, which the
    # zone reads as 03:xx (that hour does not exist), so 03:01 then lies an hour back
    text = ("2024-03-10 01:50:00\tKitchenASink\tON\n"
            "2024-03-10 02:59:00\tKitchenASink\tOFF\n"
            "2024-03-10 03:01:00\tKitchenASink\tON\n")
    with pytest.raises(EventLogError, match=r"x.txt:3: time goes back 3480.0 s .*Etc/GMT\+8"):
        _import(tmp_path, text)
    log = tmp_path / "x.txt"
    log.write_text(text)
    rep = import_events([str(log)], tmp_path / "x.mcap", timezone="Etc/GMT+8")
    assert rep.last - rep.first == pytest.approx(71 * 60)


def test_a_file_cut_mid_line_loses_only_that_line_and_says_so(tmp_path):
    text = ("2016-07-12 07:00:00\tKitchenASink\tON\n"
            "2016-07-12 07:00:02\tKitchenASink\tOFF\n"
            "2016-07-12 07:00:09.12")          # a month cut out of a longer log
    rep, reader = _import(tmp_path, text)
    assert len(list(reader.readings())) == 2
    assert "1 ignored (a file's last line cut off mid-line: " in rep.table()
    with pytest.raises(EventLogError, match="x.txt:3: '2016-07-12 07:00:09.12' is not"):
        _import(tmp_path, text + "\n")   # with its newline it is a bad line, named


def test_a_line_after_midnight_still_dated_the_day_before_is_the_next_day(tmp_path):
    text = ("2016-07-12 23:59:58.500000\tKitchenASink\tON\n"
            "2016-07-12 00:00:01.250000\tKitchenASink\tOFF\n"     # the date rolled late
            "2016-07-13 00:00:05.000000\tBedroomAArea\tON\n")
    rep, reader = _import(tmp_path, text)
    assert rep.rollovers == 1 and "dated the day before read as the next day" in rep.table()
    assert rep.last - rep.first == pytest.approx(6.5)
    assert [r.active for r in reader.readings()] == [True, False, True]
