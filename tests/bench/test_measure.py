"""The benchmark's record of CPU time stolen by the host, which decides whether a ratio is fair."""

from bench.measure import CpuTimes


def test_stolen_share_is_the_stolen_part_of_the_time_between_two_readings() -> None:
    earlier = CpuTimes(total=1_000, stolen=10)
    later = CpuTimes(total=1_400, stolen=110)
    assert later.stolen_share_since(earlier) == 0.25


def test_no_time_between_readings_is_no_share() -> None:
    reading = CpuTimes(total=500, stolen=5)
    assert reading.stolen_share_since(reading) == 0.0


def test_this_machine_can_be_read() -> None:
    earlier = CpuTimes.now()
    later = CpuTimes.now()
    assert later.total >= earlier.total >= earlier.stolen >= 0
    assert 0.0 <= later.stolen_share_since(earlier) <= 1.0
