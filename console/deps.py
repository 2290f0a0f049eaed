"""FastAPI dependencies the routers share: one database transaction per request, and who asks.

``SessionDep`` is a session inside one transaction that wraps the route function: it is
committed when the function returns and rolled back when it raises (an ``HTTPException`` or a
``HotlineError`` too), and it ends before the response is sent, so a failed commit still
becomes an error response. Database connectivity errors become ``StorageUnavailableError``
exactly as in :func:`hotline.db.transaction`, which it uses.

Keep a hand-opened ``with transaction()`` where a route needs more than one transaction, or
must know the change is committed before it goes on:
- it calls Rasa or another service (no transaction stays open over the network);
- it catches a domain error and answers from a fresh transaction (a page re-rendered with the
  error must not see, or commit, half of the failed change);
- it flashes a success message after the change (the message is stored in the session cookie,
  which would outlive a failed commit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from console.auth import CurrentUser, admin_user, operator_user, require_bearer, supervisor_user
from hotline.db import transaction


def get_session() -> Iterator[Session]:
    """A session in one transaction around the route function (see the module docstring)."""
    with transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""The request's database session; committed after the route function, before the response."""

api_operator = require_bearer("operator")
api_supervisor = require_bearer("supervisor")

OperatorUser = Annotated[CurrentUser, Depends(operator_user)]
"""The signed-in account of a page, at least an operator (else the login page, or 403)."""
SupervisorUser = Annotated[CurrentUser, Depends(supervisor_user)]
"""The signed-in account of a page, at least a supervisor."""
AdminUser = Annotated[CurrentUser, Depends(admin_user)]
"""The signed-in account of a page, an admin."""
ApiOperator = Annotated[CurrentUser, Depends(api_operator)]
"""The account of a JSON API bearer token, at least an operator (else 401 or 403)."""
ApiSupervisor = Annotated[CurrentUser, Depends(api_supervisor)]
"""The account of a JSON API bearer token, at least a supervisor."""
