"""Dependency aliases for routes: `Annotated[..., Depends()]`, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.answering.access import Principal
from app.answering.answer import Answerer
from app.answering.services import Services
from app.server.errors import Unauthorized


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_answerer(request: Request) -> Answerer:
    answerer: Answerer = request.app.state.answerer
    return answerer


def get_principal(request: Request) -> Principal:
    """The caller, as the Guard middleware admitted it; none means the Guard did not run."""
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise Unauthorized("the request was not authenticated")  # fail closed
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
# Declared once on the app: every route, including ones added later, runs it.
ADMITTED = Depends(get_principal)
