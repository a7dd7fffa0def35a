"""Users, user tags, user fields and bulk updates, through zenpy and against the real samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import User, UserField
from zenpy.lib.exception import RecordNotFoundException, TooManyValuesException

from sandbox.clock import ManualClock
from sandbox.world import ZendeskUser
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

Sample = Callable[[str], dict[str, Any]]


def a_user_with_email(zendesk: ZendeskSimulator) -> ZendeskUser:
    return next(u for u in zendesk.world.zendesk_users.values() if u.email)


def call(zendesk: ZendeskSimulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    auth = (f"{zendesk.options.email}/token", zendesk.options.api_token)
    return requests.request(method, f"{zendesk.base_url}{path}", auth=auth, timeout=5, **kwargs)


def test_search_by_email_ignores_case_as_zendesk_does(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    user = a_user_with_email(zendesk)
    assert user.email
    found = list(zenpy_client.users.search(query=f"email:{user.email.upper()}"))
    assert [u.id for u in found] == [user.id]


def test_search_for_an_unknown_email_finds_nobody(zenpy_client: Zenpy) -> None:
    assert list(zenpy_client.users.search(query="email:nobody@nowhere.example")) == []


def test_a_user_has_the_keys_and_types_of_a_real_user(
    zendesk: ZendeskSimulator, zendesk_sample: Sample
) -> None:
    real = zendesk_sample("user_update_single_put.json")["response"]["body"]["user"]
    ours = call(zendesk, "GET", f"/api/v2/users/{a_user_with_email(zendesk).id}.json").json()
    assert sorted(ours["user"]) == sorted(real)
    for key, value in real.items():
        if value is not None and ours["user"][key] is not None:
            assert type(ours["user"][key]) is type(value), key


def test_unknown_user_is_404_record_not_found_as_the_real_body(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, zendesk_sample: Sample
) -> None:
    real = zendesk_sample("error_404_RecordNotFound_ticket_update.json")["response"]["body"]
    with pytest.raises(RecordNotFoundException) as raised:
        zenpy_client.users(id=999)
    assert raised.value.response.json() == real


def test_add_set_and_remove_user_tags_through_zenpy(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    user = a_user_with_email(zendesk)
    before = list(user.tags)
    after_add = list(zenpy_client.users.add_tags(user.id, ["NPS_Promoter", "nps_score_9"]))
    assert after_add == [*before, "nps_promoter", "nps_score_9"]
    zenpy_client.users.delete_tags(user.id, ["nps_score_9"])
    assert zendesk.world.zendesk_users[user.id].tags == [*before, "nps_promoter"]
    assert list(zenpy_client.users.set_tags(user.id, ["vip"])) == ["vip"]


def test_adding_a_tag_twice_keeps_one(zendesk: ZendeskSimulator, zenpy_client: Zenpy) -> None:
    user = a_user_with_email(zendesk)
    zenpy_client.users.add_tags(user.id, ["nps_passive"])
    tags = list(zenpy_client.users.add_tags(user.id, ["nps_passive"]))
    assert tags.count("nps_passive") == 1


def test_user_fields_merge_per_key_and_unknown_keys_are_ignored(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    user = a_user_with_email(zendesk)
    zenpy_client.users.update(User(id=user.id, user_fields={"nps_score": 3}))
    updated = zenpy_client.users.update(
        User(id=user.id, user_fields={"nps_category": "detractor", "no_such_field": 1})
    )
    assert updated.user_fields == {"nps_score": 3, "nps_category": "detractor"}


def test_a_non_numeric_integer_field_is_refused_with_422(zendesk: ZendeskSimulator) -> None:
    user = a_user_with_email(zendesk)
    body = {"user": {"user_fields": {"nps_score": "nine"}}}
    answer = call(zendesk, "PUT", f"/api/v2/users/{user.id}.json", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "RecordInvalid"
    assert zendesk.world.zendesk_users[user.id].user_fields.get("nps_score") is None


def test_update_many_queues_a_job_that_goes_working_then_completed(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, zendesk_sample: Sample
) -> None:
    ids = list(zendesk.world.zendesk_users)[:3]
    job = zenpy_client.users.update([User(id=i, user_fields={"nps_score": 10}) for i in ids])
    assert (job.status, job.progress, job.results) == ("queued", None, None)
    working = zenpy_client.job_status(id=job.id)
    assert working.status == "working"
    assert working.message.startswith("Updating user #")
    done = zenpy_client.job_status(id=job.id)
    assert done.status == "completed"
    assert [r.id for r in done.results] == ids
    assert all(zendesk.world.zendesk_users[i].user_fields["nps_score"] == 10 for i in ids)

    real = zendesk_sample("job_status_completed_bulk_update_users.json")["response"]["body"]
    ours = call(zendesk, "GET", f"/api/v2/job_statuses/{job.id}.json").json()
    assert sorted(ours["job_status"]) == sorted(real["job_status"])
    assert ours["job_status"]["results"][0].keys() == real["job_status"]["results"][0].keys()
    assert ours["job_status"]["message"].startswith("Completed at ")


def test_update_many_result_marks_an_unknown_user_failed(zendesk: ZendeskSimulator) -> None:
    known = next(iter(zendesk.world.zendesk_users))
    body = {"users": [{"id": known, "name": "Ana"}, {"id": 4242, "name": "Ghost"}]}
    job = call(zendesk, "PUT", "/api/v2/users/update_many.json", json=body).json()["job_status"]
    for _ in range(2):
        done = call(zendesk, "GET", f"/api/v2/job_statuses/{job['id']}.json").json()
    results = done["job_status"]["results"]
    assert [(r["id"], r["status"]) for r in results] == [(known, "Updated"), (4242, "Failed")]


def test_bulk_form_with_ids_applies_one_change_to_each(zendesk: ZendeskSimulator) -> None:
    ids = list(zendesk.world.zendesk_users)[:2]
    body = {"user": {"user_fields": {"nps_category": "promoter"}}}
    answer = call(
        zendesk,
        "PUT",
        "/api/v2/users/update_many.json",
        params={"ids": ",".join(map(str, ids))},
        json=body,
    )
    assert answer.json()["job_status"]["status"] == "queued"
    assert [zendesk.world.zendesk_users[i].user_fields["nps_category"] for i in ids] == [
        "promoter",
        "promoter",
    ]


def test_more_than_100_users_is_400_too_many_values(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, zendesk_sample: Sample
) -> None:
    real = zendesk_sample("error_400_TooManyValues_users_create_many.json")["response"]
    users = [User(id=i, name="x") for i in range(1, 102)]
    with pytest.raises(TooManyValuesException) as raised:
        zenpy_client.users.update(users)
    answer = raised.value.response
    assert answer.status_code == real["status"]["code"]
    assert sorted(answer.json()) == sorted(real["body"])
    assert answer.json()["description"] == "Maximum 100 users may be updated per call"


def test_user_fields_list_and_create_like_the_real_account(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, zendesk_sample: Sample
) -> None:
    assert {f.key for f in zenpy_client.user_fields()} == {"nps_score", "nps_category"}
    real = zendesk_sample("user_field_create_201.json")["response"]
    body = {"user_field": {"key": "nps_responded_at", "title": "NPS answered", "type": "date"}}
    answer = call(zendesk, "POST", "/api/v2/user_fields.json", json=body)
    assert answer.status_code == 201
    assert sorted(answer.json()["user_field"]) == sorted(real["body"]["user_field"])
    assert answer.headers["Location"] == answer.json()["user_field"]["url"]
    created = zenpy_client.user_fields.create(
        UserField(key="loyalty", title="Loyalty", type="text")
    )
    assert created.key == "loyalty"
    assert {f.key for f in zenpy_client.user_fields()} >= {"nps_responded_at", "loyalty"}


@pytest.mark.parametrize("zendesk_options", [ZendeskOptions(user_fields={})])
def test_an_account_without_nps_fields_lists_none_and_drops_their_values(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    assert list(zenpy_client.user_fields()) == []
    user = a_user_with_email(zendesk)
    updated = zenpy_client.users.update(User(id=user.id, user_fields={"nps_score": 9}))
    assert updated.user_fields == {}


def test_search_accepts_a_quoted_email(zendesk: ZendeskSimulator) -> None:
    user = a_user_with_email(zendesk)
    query = f'email:"{(user.email or "").lower()}"'
    found = call(zendesk, "GET", "/api/v2/users/search.json", params={"query": query}).json()
    assert [u["id"] for u in found["users"]] == [user.id]
    assert (found["count"], found["next_page"], found["previous_page"]) == (1, None, None)


def test_a_sixth_update_of_one_user_within_a_minute_is_429(
    zendesk: ZendeskSimulator, fake_clock: ManualClock
) -> None:
    user = a_user_with_email(zendesk)
    body = {"user": {"name": "Ana"}}
    answers = [call(zendesk, "PUT", f"/api/v2/users/{user.id}.json", json=body) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert answers[-1].headers["Retry-After"].isdigit()
    assert "remaining=0" in answers[-1].headers["Zendesk-RateLimit-create-update-user"]
    other = next(u for u in zendesk.world.zendesk_users.values() if u.id != user.id)
    assert call(zendesk, "PUT", f"/api/v2/users/{other.id}.json", json=body).status_code == 200
    fake_clock.advance(60)
    assert call(zendesk, "PUT", f"/api/v2/users/{user.id}.json", json=body).status_code == 200
