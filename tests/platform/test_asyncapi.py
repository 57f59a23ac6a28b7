"""docs/asyncapi.yaml: generated from the event models, complete, and every reference resolves."""

from __future__ import annotations

from typing import Any

import yaml

import shared.events
from switchboard_dev.asyncapi import ASYNCAPI_PATH, render_asyncapi


def refs(node: Any) -> list[str]:
    """Every ``$ref`` in a JSON-like tree."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_committed_document_is_what_the_models_generate() -> None:
    assert ASYNCAPI_PATH.read_text() == render_asyncapi(), "run `make schema` and commit it"


def test_every_topic_and_its_dead_letters_are_described() -> None:
    document = yaml.safe_load(ASYNCAPI_PATH.read_text())
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    topics = {value for name, value in vars(shared.events).items() if name.endswith("_TOPIC")}
    assert topics, "shared.events exports its topics as *_TOPIC"
    assert addresses == topics | {f"{topic}.dlq" for topic in topics}
    for message in document["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"]["description"]
    # Everyone who writes also has a reader, and the other way round.
    actions = {(op["channel"]["$ref"], op["action"]) for op in document["operations"].values()}
    for channel in document["channels"]:
        if not channel.endswith("-dlq"):
            assert {(f"#/channels/{channel}", a) for a in ("send", "receive")} <= actions


def test_every_reference_resolves() -> None:
    document = yaml.safe_load(ASYNCAPI_PATH.read_text())
    found = refs(document)
    assert len(found) > 20
    for ref in found:
        assert resolve(document, ref) is not None, ref
