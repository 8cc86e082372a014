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


def test_a_seq_floor_from_the_clock_outruns_any_earlier_run():
    """A start whose store cannot keep its seq reservation numbers from the clock: a run
    that raised an event per millisecond for its whole life still ends below the next
    start's floor."""
    from gateway.seq_bootstrap import seq_floor_from_clock
    t_a, t_b = 1_800_000_000.0, 1_800_000_060.0
    events_in_a = int((t_b - t_a) * 1000) - 1
    assert seq_floor_from_clock(t_a) + events_in_a < seq_floor_from_clock(t_b)
    assert seq_floor_from_clock(t_a) > 10**9       # far above a normal database's numbers
    assert seq_floor_from_clock(t_b) < 2**53        # still exact in JSON
