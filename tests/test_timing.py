"""Output-time planning: counts, exact times, scene cuts, static frames, VFR, bad requests."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from frameinterp.errors import InvalidInputError
from frameinterp.timing import (
    FrameMeasure,
    Planner,
    Request,
    classify_interval,
    common_time_base,
    parse_rate,
    plan,
)

MOTION = FrameMeasure(difference=0.05, histogram_distance=0.05, peak_difference=0.4)
CUT = FrameMeasure(difference=0.3, histogram_distance=0.8, peak_difference=0.9)
STATIC = FrameMeasure(difference=0.0005, histogram_distance=0.001, peak_difference=0.004)


def cfr(count: int, rate: Fraction, start: Fraction = Fraction(0)) -> list[Fraction]:
    return [start + Fraction(index) / rate for index in range(count)]


@pytest.mark.parametrize("factor", [2, 3, 4, 7])
@pytest.mark.parametrize("count", [2, 3, 10])
def test_factor_counts_and_times(factor: int, count: int) -> None:
    rate = Fraction(25)
    planned = plan(cfr(count, rate), Request(factor=factor))
    assert len(planned) == count * factor
    assert [p.time for p in planned] == cfr(count * factor, rate * factor)
    # Every factor-th output is an input frame, copied; the others are interpolated.
    for index, frame in enumerate(planned):
        if index % factor == 0:
            assert (frame.source, frame.reason) == (index // factor, "source")
        elif index // factor < count - 1:
            assert frame.reason == "interpolate" and frame.source is None
            assert frame.t == Fraction(index % factor, factor)
            assert (frame.left, frame.right) == (index // factor, index // factor + 1)
        else:
            assert (frame.reason, frame.source) == ("hold", count - 1)


def test_fps_24_to_60() -> None:
    planned = plan(cfr(24, Fraction(24)), Request(fps=Fraction(60)))
    assert len(planned) == 60  # one second in, one second out
    assert [p.time for p in planned] == cfr(60, Fraction(60))
    # 60/24 = 2.5: input frame i at output 2.5 i, so every other input frame lands exactly.
    sources = [p.source for p in planned if p.reason == "source"]
    assert sources == list(range(0, 24, 2))
    second = planned[1]
    assert (second.left, second.right, second.t) == (0, 1, Fraction(24, 60))
    assert all(0 <= p.t < 1 for p in planned)
    for frame in planned:
        if frame.reason == "interpolate":
            assert frame.time == cfr(24, Fraction(24))[frame.left] + frame.t / 24


def test_fps_ntsc_to_60_no_drift_over_ten_minutes() -> None:
    rate = Fraction(30000, 1001)
    count = 17982  # ten minutes of 29.97 fps (600 s × 29.97)
    times = cfr(count, rate)
    planned = plan(times, Request(fps=Fraction(60)))
    end = times[-1] + 1 / rate
    assert planned[-1].time == Fraction(len(planned) - 1, 60)
    assert planned[-1].time < end <= planned[-1].time + Fraction(1, 60)
    # end = 17982 × 1001 / 30000 = 599.9994 s; grid times k / 60 below it: k = 0 … 35999.
    assert len(planned) == 36000


def test_factor_no_drift_over_ten_minutes_ntsc() -> None:
    rate = Fraction(30000, 1001)
    count = 17982
    planned = plan(cfr(count, rate, start=Fraction(1, 3)), Request(factor=2))
    assert len(planned) == 2 * count
    assert planned[-1].time == Fraction(1, 3) + Fraction(2 * count - 1) / (2 * rate)


def test_vfr_uses_real_timestamps() -> None:
    times = [Fraction(0), Fraction(1, 10), Fraction(3, 10), Fraction(4, 10)]
    planned = plan(times, Request(factor=2), end_time=Fraction(6, 10))
    assert [p.time for p in planned] == [
        Fraction(0),
        Fraction(1, 20),
        Fraction(1, 10),
        Fraction(2, 10),
        Fraction(3, 10),
        Fraction(7, 20),
        Fraction(4, 10),
        Fraction(5, 10),
    ]
    assert planned[3].left == 1 and planned[3].t == Fraction(1, 2)


def test_vfr_to_fixed_fps() -> None:
    times = [Fraction(0), Fraction(1, 10), Fraction(4, 10)]
    planned = plan(times, Request(fps=Fraction(10)), end_time=Fraction(5, 10))
    assert [p.time for p in planned] == [Fraction(n, 10) for n in range(5)]
    assert [(p.left, p.t, p.reason) for p in planned] == [
        (0, 0, "source"),
        (1, 0, "source"),
        (1, Fraction(1, 3), "interpolate"),
        (1, Fraction(2, 3), "interpolate"),
        (2, 0, "source"),
    ]


def test_scene_cut_holds_the_left_frame_until_the_cut() -> None:
    times = cfr(4, Fraction(10))
    measures = [None, MOTION, CUT, MOTION]
    planned = plan(times, Request(factor=4), measures=measures)
    across = [p for p in planned if p.left == 1 and p.right == 2]
    # The cut is at frame 2's time (0.2 s): everything shown before it is the old scene, as a
    # player would show it; the new scene starts exactly at 0.2 s, not half an interval early.
    assert [(p.reason, p.source) for p in across] == [
        ("source", 1),
        ("cut", 1),
        ("cut", 1),
        ("cut", 1),
    ]
    assert next(p for p in planned if p.source == 2).time == times[2]
    assert not any(p.reason == "interpolate" and p.left == 1 for p in planned)
    assert sum(p.reason == "interpolate" for p in planned) == 6


@pytest.mark.parametrize(("fps", "offset"), [(Fraction(24), 0), (Fraction(60), 0), (25, 1)])
def test_scene_cut_at_the_exact_cut_time_on_an_fps_grid(fps: Fraction, offset: int) -> None:
    """Whatever the grid, an output frame shows the new scene iff its time is ≥ the cut time."""
    rate = Fraction(30000, 1001)
    times = cfr(12, rate, start=Fraction(offset, 7))
    cut = 5
    measures = [None] + [CUT if index == cut else MOTION for index in range(1, 12)]
    planned = plan(times, Request(fps=fps), measures=measures)
    for frame in planned:
        if frame.left == cut - 1 and frame.right == cut:
            assert frame.source == (cut if frame.time >= times[cut] else cut - 1)
    first_new = next(p for p in planned if p.time >= times[cut])
    assert first_new.left >= cut  # nothing at or after the cut comes from the old scene
    assert all(p.source == cut - 1 for p in planned if times[cut - 1] <= p.time < times[cut])


def test_near_equal_rate_passes_frames_through() -> None:
    """``--fps 30.02`` on a 45000/1499 clip (30.0200133…; time base 1/90000): every target is
    less than half a tick from an input frame, so every frame is a copy, none interpolated."""
    rate = Fraction(45000, 1499)
    time_base = Fraction(1, 90000)
    times = [round(index / rate / time_base) * time_base for index in range(36)]
    planned = plan(times, Request(fps=Fraction("30.02")), precision=time_base)
    assert [p.reason for p in planned] == ["source"] * 36
    assert [p.source for p in planned] == list(range(36))
    # Without the source's precision the same request interpolates at tiny offsets.
    exact = plan(times, Request(fps=Fraction("30.02")))
    assert sum(p.reason == "interpolate" for p in exact) >= 30
    assert max(p.t for p in exact if p.reason == "interpolate") < Fraction(1, 1000)


def test_snapping_goes_to_the_nearer_frame_and_only_within_half_a_tick() -> None:
    tick = Fraction(1, 1000)
    times = [Fraction(0), Fraction(100, 1000), Fraction(200, 1000)]
    # Grid 1/(0.1 - 0.4 ms): output 1 lands 0.4 ms before frame 1 → frame 1; output 2 lands
    # 0.8 ms before frame 2: more than half a tick, so it is interpolated.
    step = Fraction(996, 10000)
    planned = plan(times, Request(fps=1 / step), end_time=Fraction(3, 10), precision=tick)
    assert [(p.reason, p.source) for p in planned[:3]] == [
        ("source", 0),
        ("source", 1),
        ("interpolate", None),
    ]
    assert planned[1].left == 0 and planned[1].right == 1
    # The hold after the last frame never snaps to a frame that does not exist.
    assert all(p.reason != "source" or p.source is not None for p in planned)


def test_origin_anchors_the_fps_grid() -> None:
    times = cfr(5, Fraction(10), start=Fraction(1, 20))
    planned = plan(times, Request(fps=Fraction(10)), origin=Fraction(0))
    # Grid 0.1, 0.2 … from the origin, not 0.05, 0.15 … from the first frame.
    assert [p.time for p in planned] == [Fraction(n, 10) for n in range(1, 6)]
    assert [p.reason for p in planned] == ["interpolate"] * 4 + ["hold"]
    assert all(p.t == Fraction(1, 2) for p in planned)


def test_static_frames_are_copied_not_blended() -> None:
    times = cfr(3, Fraction(10))
    planned = plan(times, Request(factor=3), measures=[None, STATIC, MOTION])
    first = [p for p in planned if p.left == 0]
    assert [(p.reason, p.source) for p in first] == [
        ("source", 0),
        ("static", 0),
        ("static", 1),
    ]
    assert [p.reason for p in planned if p.left == 1] == ["source", "interpolate", "interpolate"]


def test_detection_switched_off() -> None:
    planned = plan(
        cfr(3, Fraction(10)),
        Request(factor=2),
        measures=[None, CUT, STATIC],
        scene_threshold=None,
        static_threshold=None,
    )
    assert [p.reason for p in planned] == ["source", "interpolate"] * 2 + ["source", "hold"]


def test_classify_interval_thresholds() -> None:
    assert classify_interval(None) == "motion"
    assert classify_interval(FrameMeasure(0.1, 0.36, 0.5), scene_threshold=0.35) == "cut"
    assert classify_interval(FrameMeasure(0.1, 0.35, 0.5), scene_threshold=0.35) == "motion"
    # Same histogram, but most pixels changed a lot: a cut between similar-looking scenes.
    assert classify_interval(FrameMeasure(0.18, 0.0, 0.9), scene_threshold=0.35) == "cut"
    assert classify_interval(FrameMeasure(0.001, 0.0, 0.009), static_threshold=0.01) == "static"
    # Tiny mean change but one region moved: motion, not a duplicate.
    assert classify_interval(FrameMeasure(0.001, 0.0, 0.2), static_threshold=0.01) == "motion"
    assert classify_interval(FrameMeasure(0.001, 0.0, 0.01), static_threshold=0.01) == "motion"


def test_planner_is_incremental_and_rejects_non_increasing_times() -> None:
    planner = Planner(Request(factor=2))
    assert planner.push(Fraction(0)) == []
    step = planner.push(Fraction(1, 10))
    assert step is not None and [p.time for p in step] == [Fraction(0), Fraction(1, 20)]
    assert planner.push(Fraction(1, 10)) is None  # same time again: skipped, not planned
    assert planner.count == 2
    rest = planner.finish(Fraction(2, 10))
    assert [p.reason for p in rest] == ["source", "hold"]


def test_single_frame_needs_end_time() -> None:
    with pytest.raises(InvalidInputError):
        plan([Fraction(0)], Request(factor=2))
    planned = plan([Fraction(0)], Request(factor=2), end_time=Fraction(1, 10))
    assert [p.reason for p in planned] == ["source", "hold"]


def test_exception_bad_plans() -> None:
    with pytest.raises(InvalidInputError):
        plan([], Request(factor=2))
    with pytest.raises(InvalidInputError, match="increase"):
        plan([Fraction(0), Fraction(0)], Request(factor=2), end_time=Fraction(1))
    with pytest.raises(InvalidInputError):
        Planner(Request(factor=2)).finish(Fraction(1))
    with pytest.raises(InvalidInputError):
        plan([Fraction(0), Fraction(1)], Request(factor=2), end_time=Fraction(1, 2))


@pytest.mark.parametrize(
    ("factor", "fps"),
    [
        (1, None),
        (0, None),
        (-2, None),
        (None, None),
        (2, Fraction(60)),
        (None, Fraction(0)),
        (None, Fraction(-1)),
    ],
)
def test_exception_bad_request(factor: int | None, fps: Fraction | None) -> None:
    with pytest.raises(InvalidInputError):
        Request(factor=factor, fps=fps)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60", Fraction(60)),
        ("29.97", Fraction(30000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("59.94", Fraction(60000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        ("12.5", Fraction(25, 2)),
        (" 25 ", Fraction(25)),
        (Fraction(50), Fraction(50)),
        (24.0, Fraction(24)),
    ],
)
def test_parse_rate(text: str | float | Fraction, expected: Fraction) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["0", "-30", "abc", "1/0", "", "nan", float("inf")])
def test_exception_parse_rate(text: str | float) -> None:
    with pytest.raises(InvalidInputError):
        parse_rate(text)


def test_request_output_rate_and_label() -> None:
    assert Request(factor=2).output_rate(Fraction(30000, 1001)) == Fraction(60000, 1001)
    assert Request(fps=Fraction(60)).output_rate(Fraction(24)) == 60
    assert Request(factor=3).label() == "3x"
    assert Request(fps=Fraction(60)).label() == "60fps"
    assert Request(fps=Fraction(30000, 1001)).label() == "29.97fps"


def test_common_time_base() -> None:
    assert common_time_base(Fraction(1, 24), Fraction(1, 60)) == Fraction(1, 120)
    assert common_time_base(Fraction(1001, 30000), Fraction(1, 60)) == Fraction(1, 30000)
    assert common_time_base(Fraction(0), Fraction(2, 3)) == Fraction(2, 3)
    with pytest.raises(InvalidInputError):
        common_time_base(Fraction(0))


@pytest.mark.parametrize("seed", range(20))
def test_invariants_on_random_vfr_timelines(seed: int) -> None:
    """Any timeline, any request: increasing times inside [start, end), each in its interval."""
    import random

    generator = random.Random(seed)
    count = generator.randint(2, 12)
    times = [Fraction(generator.randint(0, 5), 7)]
    for _ in range(count - 1):
        times.append(times[-1] + Fraction(generator.randint(1, 9), generator.choice([24, 25, 30])))
    end = times[-1] + Fraction(1, 30)
    measures = [None] + [generator.choice([MOTION, CUT, STATIC]) for _ in range(count - 1)]
    request = (
        Request(factor=generator.randint(2, 5))
        if seed % 2
        else Request(fps=Fraction(generator.randint(10, 120), generator.choice([1, 1001])))
    )
    planned = plan(times, request, end_time=end, measures=measures)
    assert all(a.time < b.time for a, b in itertools.pairwise(planned))
    assert planned[0].time == times[0] and planned[-1].time < end
    if request.factor is not None:
        assert len(planned) == count * request.factor
    for frame in planned:
        begin = times[frame.left]
        stop = times[frame.right] if frame.right != frame.left else end
        assert begin <= frame.time < stop
        assert frame.t == (frame.time - begin) / (stop - begin)
        if frame.reason == "interpolate":
            assert measures[frame.right] is MOTION and 0 < frame.t < 1
        elif frame.reason == "cut":
            assert frame.source == frame.left and measures[frame.right] is CUT
        elif frame.reason == "static":
            assert frame.source == (frame.left if frame.t < Fraction(1, 2) else frame.right)
        else:
            assert frame.source == frame.left
