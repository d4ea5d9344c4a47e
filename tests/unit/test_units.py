from ember.units import duration_text, size_text


def test_sizes_read_in_decimal_units_with_three_significant_figures() -> None:
    assert size_text(0) == "0 B"
    assert size_text(812) == "812 B"
    assert size_text(1000) == "1.0 KB"
    assert size_text(640_000) == "640 KB"
    assert size_text(12_400_000) == "12.4 MB"
    assert size_text(812_000_000) == "812 MB"
    assert size_text(1_900_000_000) == "1.9 GB"
    assert size_text(1024**3) == "1.1 GB"  # a GiB is more than a GB
    assert size_text(3_200_000_000_000_000) == "3200 TB"


def test_a_size_just_under_the_next_unit_rounds_into_it() -> None:
    assert size_text(999_700) == "1.0 MB"  # not "1000 KB"
    assert size_text(99_970) == "100 KB"  # not "100.0 KB"


def test_durations_read_in_seconds_minutes_then_hours() -> None:
    assert duration_text(44.6) == "45 s"
    assert duration_text(59.4) == "59 s"
    assert duration_text(185) == "3 min"
    assert duration_text(4320) == "1 h 12 min"
    assert duration_text(-3) == "0 s"
