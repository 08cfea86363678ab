"""Dependency aliases for routes: `Annotated[..., Depends()]`, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.answer import Answerer
from app.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_answerer(request: Request) -> Answerer:
    answerer: Answerer = request.app.state.answerer
    return answerer


ServicesDep = Annotated[Services, Depends(get_services)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
