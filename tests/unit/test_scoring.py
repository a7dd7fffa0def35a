import pytest

from nps_engine.records import Category
from nps_engine.scoring import InvalidScore, category_of, parse_score


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, Category.DETRACTOR),  # 0 is a detractor, not "no answer"
        (6, Category.DETRACTOR),
        (7, Category.PASSIVE),
        (8, Category.PASSIVE),
        (9, Category.PROMOTER),
        (10, Category.PROMOTER),
    ],
)
def test_category_boundaries(score: int, category: Category) -> None:
    assert category_of(score) is category


@pytest.mark.parametrize("raw", [-1, 11, 7.5, "7.5", "x", "", None, True, "٣", " 11 "])
def test_out_of_range_or_non_integer_scores_are_rejected_with_the_value(raw: object) -> None:
    with pytest.raises(InvalidScore, match="integer from 0 to 10"):
        parse_score(raw)


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), (" 9 ", 9), (10, 10), ("07", 7)])
def test_digit_strings_from_csv_and_forms_are_accepted(raw: object, expected: int) -> None:
    assert parse_score(raw) == expected
