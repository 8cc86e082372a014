"""The tick's clock follows the wall clock but never goes back, so a backward step of the
wall clock cannot hold a cancel window or a deadline open."""

from gateway.steady_clock import SteadyClock


class Clocks:
    def __init__(self) -> None:
        self.wall, self.mono = 1_800_000_000.0, 100.0

    def tick(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def test_follows_the_wall_clock_while_it_behaves():
    c = Clocks()
    clock = SteadyClock(lambda: c.wall, lambda: c.mono)
    assert clock() == c.wall
    c.tick(1.0)
    assert clock() == c.wall


def test_a_backward_step_does_not_stop_time():
    c = Clocks()
    clock = SteadyClock(lambda: c.wall, lambda: c.mono)
    before = clock()
    c.wall -= 3600            # NTP or an installer sets the clock an hour back
    c.tick(1.0)
    assert clock() == before + 1.0
    c.tick(25.0)              # a 25 s cancel window still closes 25 s later
    assert clock() == before + 26.0


def test_a_forward_step_is_followed_at_once():
    c = Clocks()
    clock = SteadyClock(lambda: c.wall, lambda: c.mono)
    clock()
    c.wall += 86400
    assert clock() == c.wall
