"""Departments (承办单位) and the default department of each category, kept by admins."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import record_event
from hotline.casework.catalogue import Category, get_catalogue
from hotline.errors import NotFoundError, ValidationError
from hotline.models import CategoryDepartment, Department

MAX_DEPARTMENT_NAME = 64


def list_departments(session: Session, active_only: bool = False) -> list[Department]:
    """Departments added by admins, by name."""
    stmt = select(Department).order_by(Department.name)
    if active_only:
        stmt = stmt.where(Department.active.is_(True))
    return list(session.scalars(stmt))


def department_names(session: Session) -> list[str]:
    """Every department a case can be dispatched to: the catalogue's and the active added ones.

    Catalogue departments come first, in catalogue order; disabled added ones are left out.
    """
    names: list[str] = []
    disabled = {d.name for d in list_departments(session) if not d.active}
    for category in get_catalogue().categories:
        if category.department not in names and category.department not in disabled:
            names.append(category.department)
    for override in session.scalars(select(CategoryDepartment)):
        if override.department not in names and override.department not in disabled:
            names.append(override.department)
    for department in list_departments(session, active_only=True):
        if department.name not in names:
            names.append(department.name)
    return names


def add_department(session: Session, name: str, *, actor: Actor) -> Department:
    """Adds a department.

    Raises:
        ValidationError: When the name is empty, too long or already there.
    """
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("name", "请填写单位名称")
    if len(cleaned) > MAX_DEPARTMENT_NAME:
        raise ValidationError("name", f"单位名称最多 {MAX_DEPARTMENT_NAME} 字")
    if session.scalar(select(Department.id).where(Department.name == cleaned)) is not None:
        raise ValidationError("name", f"单位「{cleaned}」已存在")
    department = Department(name=cleaned, active=True)
    session.add(department)
    session.flush()
    record_event(session, None, actor, "department_add", note=cleaned, data={"name": cleaned})
    return department


def set_department_active(
    session: Session, department_id: int, active: bool, *, actor: Actor
) -> Department:
    """Enables or disables a department (disabled ones are no longer offered for dispatch).

    Raises:
        NotFoundError: When there is no such department.
    """
    department = session.get(Department, department_id)
    if department is None:
        raise NotFoundError(f"承办单位 #{department_id} 不存在")
    if department.active != active:
        department.active = active
        record_event(
            session,
            None,
            actor,
            "department_enable" if active else "department_disable",
            note=department.name,
            data={"name": department.name},
        )
        session.flush()
    return department


@dataclass(frozen=True)
class CategoryRoute:
    """Where a category's cases go by default.

    Attributes:
        category: The catalogue category.
        department: The department in force.
        overridden: Whether an admin changed it from the catalogue's.
    """

    category: Category
    department: str
    overridden: bool


def category_routes(session: Session) -> list[CategoryRoute]:
    """The default department of every category, in catalogue order."""
    overrides = {o.category: o.department for o in session.scalars(select(CategoryDepartment))}
    return [
        CategoryRoute(c, overrides.get(c.code, c.department), c.code in overrides)
        for c in get_catalogue().categories
    ]


def set_category_department(
    session: Session, category_code: str, department: str | None, *, actor: Actor
) -> CategoryRoute:
    """Sets a category's default department; an empty one restores the catalogue's.

    Raises:
        ValidationError: For an unknown category or department.
    """
    catalogue = get_catalogue()
    if not catalogue.has(category_code or ""):
        raise ValidationError("category", f"未知的服务类别「{category_code}」")
    category = catalogue.get(category_code)
    wanted = (department or "").strip()
    override = session.get(CategoryDepartment, category.code)
    before = override.department if override else category.department
    if not wanted or wanted == category.department:
        if override is not None:
            session.delete(override)
        wanted = category.department
    else:
        if wanted not in department_names(session):
            raise ValidationError("department", f"未知或已停用的承办单位「{wanted}」")
        if override is None:
            session.add(CategoryDepartment(category=category.code, department=wanted))
        else:
            override.department = wanted
    session.flush()
    if wanted != before:
        record_event(
            session,
            None,
            actor,
            "category_department",
            note=f"{category.name}：{before} → {wanted}",
            data={"category": category.code, "from": before, "to": wanted},
        )
    return CategoryRoute(category, wanted, wanted != category.department)
