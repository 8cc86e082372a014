"""Durations in scenario files and on the command line: every part has its unit, or the
whole is a plain number of seconds; anything else is an error that quotes the text."""

import pytest

from simulator.scenario import ScenarioError, parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("40m", 2400), ("3h", 10800), ("1h30m", 5400), ("1h 30m", 5400),
    ("2d", 172800), ("1.5h", 5400), ("90", 90), ("0.5", 0.5), (45, 45), (2.5, 2.5),
])
def test_accepted(text, seconds):
    assert parse_duration(text, "--duration") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5h3", "10mm", "abc", "", "h", "-5", "nan", "1x"])
def test_refused_with_the_text_and_where(text):
    with pytest.raises(ScenarioError, match=r"--duration: .* is not a duration"):
        parse_duration(text, "--duration")
