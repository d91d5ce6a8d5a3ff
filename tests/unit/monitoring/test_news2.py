"""NEWS2 against the standards dossier's test vectors (2.3) and at every band edge (2.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.monitoring import Consciousness, News2Band, VitalSigns, score_news2

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def vitals(
    *, rr: float, spo2: float, o2: bool, sbp: float, hr: float, acvpu: str, temp: float
) -> VitalSigns:
    return VitalSigns(
        measured_at=AT,
        respiratory_rate_per_min=Decimal(str(rr)),
        spo2_pct=Decimal(str(spo2)),
        supplemental_oxygen=o2,
        systolic_mmhg=Decimal(str(sbp)),
        heart_rate_bpm=Decimal(str(hr)),
        consciousness=Consciousness(acvpu),
        temperature_c=Decimal(str(temp)),
    )


# id, rr, spo2, scale, o2, sbp, hr, acvpu, temp, total, band — dossier 2.3 (E and F are the
# chart-correct values; their publications got 6 and 15).
VECTORS = [
    ("A", 22, 90, 2, True, 130, 80, "A", 37.0, 4, News2Band.LOW),
    ("B", 18, 90, 1, True, 100, 100, "V", 36.5, 11, News2Band.HIGH),
    ("C", 7, 80, 1, True, 85, 140, "U", 34.5, 20, News2Band.HIGH),
    ("D", 16, 100, 2, True, 120, 80, "A", 37.0, 5, News2Band.MEDIUM),
    ("E", 21, 93, 1, False, 120, 95, "A", 37.5, 5, News2Band.MEDIUM),
    ("F", 26, 90, 1, True, 100, 120, "V", 39.0, 16, News2Band.HIGH),
    ("G", 16, 98, 1, False, 120, 70, "A", 37.0, 0, News2Band.ZERO),
    ("H", 25, 97, 1, False, 120, 70, "A", 37.0, 3, News2Band.LOW_MEDIUM),
    ("I", 22, 94, 1, False, 98, 112, "A", 38.4, 8, News2Band.HIGH),
    ("J", 18, 93, 2, False, 130, 80, "A", 37.0, 0, News2Band.ZERO),
    ("K", 18, 93, 2, True, 130, 80, "A", 37.0, 3, News2Band.LOW),
    ("L", 11, 95, 1, False, 110, 50, "A", 36.0, 5, News2Band.MEDIUM),
    ("M", 12, 96, 1, False, 111, 51, "A", 36.1, 0, News2Band.ZERO),
    ("N", 24, 92, 1, False, 219, 131, "C", 39.1, 12, News2Band.HIGH),
]


@pytest.mark.parametrize(
    ("vector", "rr", "spo2", "scale", "o2", "sbp", "hr", "acvpu", "temp", "total", "band"), VECTORS
)
def test_published_and_derived_vectors(
    vector: str,
    rr: int,
    spo2: int,
    scale: int,
    o2: bool,
    sbp: int,
    hr: int,
    acvpu: str,
    temp: float,
    total: int,
    band: News2Band,
) -> None:
    score = score_news2(
        vitals(rr=rr, spo2=spo2, o2=o2, sbp=sbp, hr=hr, acvpu=acvpu, temp=temp), spo2_scale=scale
    )
    assert score.is_complete
    assert (score.total, score.band) == (total, band), vector


def test_vector_b_per_parameter_points() -> None:
    score = score_news2(vitals(rr=18, spo2=90, o2=True, sbp=100, hr=100, acvpu="V", temp=36.5))
    assert score.subscores == {
        "respiration_rate": 0,
        "spo2": 3,
        "air_or_oxygen": 2,
        "systolic_bp": 2,
        "pulse": 1,
        "consciousness": 3,
        "temperature": 0,
    }


NORMAL = {"rr": 16, "spo2": 98, "o2": False, "sbp": 120, "hr": 70, "acvpu": "A", "temp": 37.0}


@pytest.mark.parametrize(
    ("field", "parameter", "edges"),
    [
        (
            "rr",
            "respiration_rate",
            [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)],
        ),
        ("spo2", "spo2", [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0)]),
        (
            "sbp",
            "systolic_bp",
            [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)],
        ),
        (
            "hr",
            "pulse",
            [
                (40, 3),
                (41, 1),
                (50, 1),
                (51, 0),
                (90, 0),
                (91, 1),
                (110, 1),
                (111, 2),
                (130, 2),
                (131, 3),
            ],
        ),
        (
            "temp",
            "temperature",
            [
                (35.0, 3),
                (35.1, 1),
                (36.0, 1),
                (36.1, 0),
                (38.0, 0),
                (38.1, 1),
                (39.0, 1),
                (39.1, 2),
            ],
        ),
    ],
)
def test_every_band_edge_on_both_sides(
    field: str, parameter: str, edges: list[tuple[float, int]]
) -> None:
    for value, expected in edges:
        score = score_news2(vitals(**{**NORMAL, field: value}))  # type: ignore[arg-type]
        assert score.subscores[parameter] == expected, (field, value)


@pytest.mark.parametrize(
    ("spo2", "o2", "expected"),
    [
        (83, False, 3),
        (84, False, 2),
        (85, True, 2),
        (86, False, 1),
        (87, True, 1),
        (88, False, 0),
        (92, True, 0),
        (93, False, 0),
        (100, False, 0),
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),
    ],
)
def test_spo2_scale_2_edges(spo2: int, o2: bool, expected: int) -> None:
    score = score_news2(vitals(**{**NORMAL, "spo2": spo2, "o2": o2}), spo2_scale=2)  # type: ignore[arg-type]
    assert score.subscores["spo2"] == expected


def test_temperature_is_rounded_to_one_decimal_before_scoring() -> None:
    # 38.04 rounds to 38.0 (0 points); 38.05 rounds half-up to 38.1 (1 point).
    assert score_news2(vitals(**{**NORMAL, "temp": 38.04})).subscores["temperature"] == 0  # type: ignore[arg-type]
    assert score_news2(vitals(**{**NORMAL, "temp": 38.05})).subscores["temperature"] == 1  # type: ignore[arg-type]


@pytest.mark.parametrize("acvpu", ["C", "V", "P", "U"])
def test_any_of_cvpu_scores_3_and_alert_scores_0(acvpu: str) -> None:
    assert score_news2(vitals(**{**NORMAL, "acvpu": acvpu})).subscores["consciousness"] == 3  # type: ignore[arg-type]
    assert score_news2(vitals(**NORMAL)).subscores["consciousness"] == 0  # type: ignore[arg-type]


def test_a_single_3_sets_the_band_only_when_the_aggregate_is_4_or_less() -> None:
    single = score_news2(vitals(**{**NORMAL, "sbp": 88}))  # type: ignore[arg-type]
    assert (single.total, single.band) == (3, News2Band.LOW_MEDIUM)
    with_more = score_news2(vitals(**{**NORMAL, "sbp": 88, "hr": 115}))  # 3 + 2 = 5  # type: ignore[arg-type]
    assert (with_more.total, with_more.band) == (5, News2Band.MEDIUM)


def test_missing_parameters_are_not_imputed() -> None:
    score = score_news2(
        VitalSigns(measured_at=AT, heart_rate_bpm=Decimal(140), systolic_mmhg=Decimal(85))
    )
    assert not score.is_complete
    assert score.band is None
    assert score.total == 6  # partial: pulse 3 + systolic 3
    assert set(score.missing) == {
        "respiration_rate",
        "spo2",
        "air_or_oxygen",
        "consciousness",
        "temperature",
    }


@given(
    st.integers(0, 80),
    st.integers(50, 100),
    st.booleans(),
    st.integers(40, 300),
    st.integers(20, 250),
    st.sampled_from("ACVPU"),
    st.decimals(30, 44, places=1),
    st.sampled_from([1, 2]),
)
def test_total_is_the_sum_within_0_and_20_and_band_follows_precedence(
    rr: int, spo2: int, o2: bool, sbp: int, hr: int, acvpu: str, temp: Decimal, scale: int
) -> None:
    score = score_news2(
        vitals(rr=rr, spo2=spo2, o2=o2, sbp=sbp, hr=hr, acvpu=acvpu, temp=float(temp)),
        spo2_scale=scale,
    )
    assert score.total == sum(score.subscores.values())
    assert 0 <= score.total <= 20
    if score.total >= 7:
        assert score.band is News2Band.HIGH
    elif score.total >= 5:
        assert score.band is News2Band.MEDIUM
    elif 3 in score.subscores.values():
        assert score.band is News2Band.LOW_MEDIUM
    else:
        assert score.band is (News2Band.LOW if score.total else News2Band.ZERO)
