from jobs.cli.commands.loop import describe_change
from nps_engine.ports import TagChange


def test_a_planned_change_is_shown_with_a_masked_email_and_each_tag_edit() -> None:
    change = TagChange(
        42,
        "jane.doe@example.com",
        add=("nps:promoter", "nps-score:9"),
        remove=("nps:passive",),
        desired=("nps:promoter", "nps-score:9"),
        fields={"nps_score": 9},
    )
    assert describe_change(change) == (
        "customer 42 (j***@example.com): +nps:promoter +nps-score:9 -nps:passive fields nps_score=9"
    )
