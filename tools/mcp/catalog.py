"""Prompts, resources and completions: the MCP features besides tools.

Orchestra's catalogue is tools; it registers no prompts or resources of its own, so
in production these capabilities are not advertised and their methods answer "method
not found". The registries exist for what does use them: the conformance suite's
fixtures (test settings only), and future features.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prompt:
    name: str
    description: str
    render: Callable[[dict[str, str]], list[dict[str, Any]]]
    arguments: list[dict[str, Any]] = field(default_factory=list)
    # Completion candidates per argument name.
    completions: dict[str, list[str]] = field(default_factory=dict)
    # A prompt that may need input from the client first (2026-07-28): it may raise
    # InputRequired; the render receives the request's Interaction.
    render_with_input: Callable[[dict[str, str], Any], list[dict[str, Any]]] | None = None

    def listing(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "arguments": self.arguments}


@dataclass(frozen=True)
class Resource:
    uri: str
    name: str
    description: str
    mime_type: str
    read: Callable[[], list[dict[str, Any]]]

    def listing(self) -> dict[str, Any]:
        return {"uri": self.uri, "name": self.name, "description": self.description, "mimeType": self.mime_type}


@dataclass(frozen=True)
class ResourceTemplate:
    uri_template: str  # RFC 6570 level 1: {name} placeholders
    name: str
    description: str
    mime_type: str
    read: Callable[[str, dict[str, str]], list[dict[str, Any]]]

    def listing(self) -> dict[str, Any]:
        return {
            "uriTemplate": self.uri_template,
            "name": self.name,
            "description": self.description,
            "mimeType": self.mime_type,
        }

    def match(self, uri: str) -> dict[str, str] | None:
        pattern = re.escape(self.uri_template)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, uri)
        return found.groupdict() if found else None


PROMPTS: dict[str, Prompt] = {}
RESOURCES: dict[str, Resource] = {}
TEMPLATES: dict[str, ResourceTemplate] = {}


def register_prompt(prompt: Prompt) -> None:
    PROMPTS[prompt.name] = prompt


def register_resource(resource: Resource) -> None:
    RESOURCES[resource.uri] = resource


def register_template(template: ResourceTemplate) -> None:
    TEMPLATES[template.uri_template] = template


def find_resource(uri: str) -> list[dict[str, Any]] | None:
    """The contents of `uri`, or None when no resource or template serves it."""
    if uri in RESOURCES:
        return RESOURCES[uri].read()
    for template in TEMPLATES.values():
        params = template.match(uri)
        if params is not None:
            return template.read(uri, params)
    return None


def capabilities() -> dict[str, Any]:
    """What is registered, as MCP capabilities (nothing in production)."""
    found: dict[str, Any] = {}
    if PROMPTS:
        found["prompts"] = {"listChanged": False}
    if RESOURCES or TEMPLATES:
        found["resources"] = {"subscribe": False, "listChanged": False}
    if any(prompt.completions for prompt in PROMPTS.values()):
        found["completions"] = {}
    return found
