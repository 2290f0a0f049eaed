"""Administration: accounts, tokens, departments, routing defaults and canned replies."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.access import accounts
from hotline.db import transaction
from hotline.models import CaseEvent, Department
from tests.console.conftest import case_in, csrf_of, login, make_client


@pytest.fixture()
def admin(as_role: Callable[[str], TestClient]) -> TestClient:
    return as_role("admin")


def _user_id(name: str) -> int:
    with transaction() as session:
        return accounts.get_user(session, name).id


def test_create_user_and_log_in(admin: TestClient) -> None:
    token = csrf_of(admin)
    response = admin.post(
        "/admin/users",
        data={
            "username": "zhao",
            "display_name": "赵六",
            "role": "supervisor",
            "password": "zhao-password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert "已创建账号 zhao" in admin.get("/admin/users").text
    with make_client() as client:
        assert login(client, "zhao", "zhao-password").status_code == 303
    with transaction() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.action == "user_create"))
        assert [e.note for e in events if e.actor == "adm"] == ["zhao（督办员）"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "x y", "password": "long-enough"}, "用户名"),
        ({"username": "zhao", "password": "short"}, "密码太短"),
        ({"username": "op", "password": "long-enough"}, "已被使用"),
        ({"username": "zhao", "password": "long-enough", "role": "king"}, "无效的角色"),
    ],
)
def test_create_user_validation(admin: TestClient, data: dict[str, str], message: str) -> None:
    response = admin.post(
        "/admin/users", data={"role": "operator", **data, "csrf_token": csrf_of(admin)}
    )
    assert response.status_code == 400 and message in response.text


def test_disable_enable_and_role_change(admin: TestClient) -> None:
    token = csrf_of(admin)
    op = _user_id("op")
    assert (
        admin.post(
            f"/admin/users/{op}/active", data={"active": "0", "csrf_token": token}
        ).status_code
        == 303
    )
    with make_client() as client:
        assert login(client, "op").status_code == 401
    assert (
        admin.post(
            f"/admin/users/{op}/active", data={"active": "1", "csrf_token": token}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            f"/admin/users/{op}/role", data={"role": "supervisor", "csrf_token": token}
        ).status_code
        == 303
    )
    with transaction() as session:
        assert accounts.get_user(session, "op").role == "supervisor"
    assert (
        admin.post(
            f"/admin/users/{op}/active", data={"active": "maybe", "csrf_token": token}
        ).status_code
        == 400
    )
    assert (
        admin.post("/admin/users/999/role", data={"role": "admin", "csrf_token": token}).status_code
        == 404
    )


def test_admin_cannot_lock_themselves_out(admin: TestClient) -> None:
    token = csrf_of(admin)
    me = _user_id("adm")
    for path, data in (
        (f"/admin/users/{me}/active", {"active": "0"}),
        (f"/admin/users/{me}/role", {"role": "operator"}),
    ):
        response = admin.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 400 and "自己的账号" in response.text
    assert admin.get("/admin").status_code == 200


def test_reset_password_lifts_the_lock(admin: TestClient, client: TestClient) -> None:
    for _ in range(5):
        login(client, "op", "wrong-password")
    assert "已锁定" in login(client, "op").text
    token = csrf_of(admin)
    op = _user_id("op")
    response = admin.post(
        f"/admin/users/{op}/password", data={"password": "reset-by-admin", "csrf_token": token}
    )
    assert response.status_code == 303
    assert login(client, "op", "reset-by-admin").status_code == 303
    short = admin.post(f"/admin/users/{op}/password", data={"password": "x", "csrf_token": token})
    assert short.status_code == 400


def test_tokens_are_shown_once_and_can_be_revoked(admin: TestClient) -> None:
    token = csrf_of(admin)
    op = _user_id("op")
    page = admin.post(f"/admin/users/{op}/token", data={"name": "脚本", "csrf_token": token})
    assert page.status_code == 200
    clear = page.text.split('<code id="new-token">', 1)[1].split("<", 1)[0]
    assert clear.startswith("hlt_")
    assert clear not in admin.get("/admin/users").text
    with make_client() as client:
        headers = {"Authorization": f"Bearer {clear}"}
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
        with transaction() as session:
            token_id = accounts.list_tokens(session)[0].id
        assert (
            admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code
            == 303
        )
        assert client.get("/api/v1/cases", headers=headers).status_code == 401


def test_departments_and_routing(admin: TestClient, operator: TestClient) -> None:
    token = csrf_of(admin)
    assert (
        admin.post(
            "/admin/departments", data={"name": "街道照明所", "csrf_token": token}
        ).status_code
        == 303
    )
    duplicate = admin.post("/admin/departments", data={"name": "街道照明所", "csrf_token": token})
    assert duplicate.status_code == 400 and "已存在" in duplicate.text
    routed = admin.post(
        "/admin/routing",
        data={"category": "city_management", "department": "街道照明所", "csrf_token": token},
    )
    assert routed.status_code == 303
    page = admin.get("/admin/departments").text
    assert "已调整" in page
    # New cases of the category now go there, and the operator sees it in the dispatch list.
    number = case_in("accepted")
    assert "街道照明所（默认）" in operator.get(f"/cases/{number}").text
    unknown = admin.post(
        "/admin/routing",
        data={"category": "city_management", "department": "不存在的单位", "csrf_token": token},
    )
    assert unknown.status_code == 400
    with transaction() as session:
        dept = session.scalar(select(Department).where(Department.name == "街道照明所"))
        assert dept is not None
        dept_id = dept.id
    assert (
        admin.post(
            f"/admin/departments/{dept_id}/active", data={"active": "0", "csrf_token": token}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            f"/admin/departments/{dept_id}/active", data={"active": "1", "csrf_token": token}
        ).status_code
        == 303
    )
    assert (
        admin.post(
            "/admin/departments/999/active", data={"active": "1", "csrf_token": token}
        ).status_code
        == 404
    )
    restored = admin.post(
        "/admin/routing",
        data={"category": "city_management", "department": "", "csrf_token": token},
    )
    assert restored.status_code == 303 and "已调整" not in admin.get("/admin/departments").text


def test_canned_replies(admin: TestClient, operator: TestClient) -> None:
    token = csrf_of(admin)
    assert (
        admin.post(
            "/admin/replies",
            data={"title": "已受理", "text": "您的诉求已受理。", "csrf_token": token},
        ).status_code
        == 303
    )
    assert (
        admin.post(
            "/admin/replies", data={"title": "", "text": "x", "csrf_token": token}
        ).status_code
        == 400
    )
    number = case_in("accepted")
    assert "您的诉求已受理。" in operator.get(f"/cases/{number}").text
    from hotline.casework import canned

    with transaction() as session:
        reply_id = canned.list_replies(session)[0].id
    edited = admin.post(
        f"/admin/replies/{reply_id}",
        data={"title": "已受理", "text": "改过的内容", "csrf_token": token},
    )
    assert edited.status_code == 303
    assert "改过的内容" not in operator.get(f"/cases/{number}").text  # disabled: not offered


def test_operators_do_not_see_admin(operator: TestClient) -> None:
    assert "系统管理" not in operator.get("/cases").text
    assert operator.get("/admin").status_code == 403
