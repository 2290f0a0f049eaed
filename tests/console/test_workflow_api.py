"""Every status × action pair through the JSON API, against the hand-written table: 409 for a
refused pair, 200 and the table's next status for an allowed one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hotline.casework.workflow import OPERATOR_ACTIONS
from tests.console.conftest import case_in, make_client, new_case, status_of
from tests.console.test_api import token_for
from tests.hotline.test_workflow_table import ALLOWED, STATUSES, TARGET

RESIDENT_ACTIONS = ("rate", "add_info", "cancel")
"""Actions only residents take (through the assistant); the API refuses them with 400."""
BODY = {
    "note": "测试说明",
    "category": "mediation",
    "urgency": "urgent",
    "assignee": "op",
}


@pytest.fixture()
def api(role_users: dict[str, int]) -> Iterator[TestClient]:
    with make_client() as client:
        client.headers["Authorization"] = f"Bearer {token_for('op')}"
        yield client


def test_the_api_offers_the_operator_actions_of_the_table() -> None:
    assert set(OPERATOR_ACTIONS) == {a for _, a in ALLOWED} - set(RESIDENT_ACTIONS)


@pytest.mark.parametrize("status", STATUSES)
def test_every_action_from_each_status(api: TestClient, status: str) -> None:
    for action in OPERATOR_ACTIONS:
        number = case_in(status)
        target = new_case(resident_ref="web:other")
        response = api.post(
            f"/api/v1/cases/{number}/actions", json={"action": action, **BODY, "target": target}
        )
        if ALLOWED[(status, action)]:
            assert response.status_code == 200, (status, action, response.text)
            assert response.json()["status"] == TARGET.get(action, status), (status, action)
        else:
            assert response.status_code == 409, (status, action, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_transition" and number in error["message"]
            assert status_of(number) == status
    for resident_action in RESIDENT_ACTIONS:
        number = case_in(status)
        response = api.post(f"/api/v1/cases/{number}/actions", json={"action": resident_action})
        assert response.status_code == 400 and status_of(number) == status
