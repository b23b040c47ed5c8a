"""Fixtures for the agent tests (see agentworld.py)."""

from __future__ import annotations

import shutil

import pytest
from agentworld import AgentWorld, make_world


@pytest.fixture
def agent_world() -> AgentWorld:
    world = make_world()
    yield world
    shutil.rmtree(world.home.parent, ignore_errors=True)
