"""Renders a kustomization offline: the subset of kustomize that deploy/k8s uses.

kustomize (or ``kubectl kustomize``) is a Go binary the project cannot install from its
registries; this covers what deploy/k8s needs and refuses anything else, so a manifest that
starts using more fails loudly here instead of rendering wrong: ``resources`` (files and
directories with their own kustomization), ``namespace``, ``labels`` (metadata only),
``images`` (``newName``, ``newTag``, ``digest``) and ``patches`` by ``path`` (strategic merge:
maps merge, the lists kustomize merges by name merge by name, other lists are replaced).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["render"]

Resource = dict[str, Any]

KNOWN = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
#: Lists strategic merge merges item by item on ``name`` (as kustomize does for these fields
#: of built-in kinds); any other list in a patch replaces the original.
MERGED_BY_NAME = {"containers", "initContainers", "env", "volumes", "ports"}
CLUSTER_SCOPED = {"Namespace"}


def render(directory: Path) -> list[Resource]:
    """The resources ``directory``'s kustomization.yaml produces, in order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN
    if unknown:
        raise ValueError(f"{directory}: kustomize fields this renderer lacks: {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            resources += render(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for patch_entry in kustomization.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise ValueError(f"{directory}: only patches by path are supported: {patch_entry}")
        for patch in yaml.safe_load_all((directory / patch_entry["path"]).read_text()):
            if patch:
                target = _find(resources, patch["kind"], patch["metadata"]["name"])
                resources[resources.index(target)] = _merge(target, patch)
    for label_set in kustomization.get("labels", []):
        if set(label_set) != {"pairs"}:
            raise ValueError(f"{directory}: only labels' pairs are supported: {label_set}")
        for resource in resources:
            resource["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    for image in kustomization.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    if namespace := kustomization.get("namespace"):
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = namespace
    return resources


def _find(resources: list[Resource], kind: str, name: str) -> Resource:
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise ValueError(f"the patch's target {kind}/{name} is not among the resources")


def _merge(original: Any, patch: Any, key: str = "") -> Any:
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for name, value in patch.items():
            merged[name] = _merge(original[name], value, name) if name in original else value
        return merged
    if isinstance(original, list) and isinstance(patch, list) and key in MERGED_BY_NAME:
        # Items the patch adds come first, as kustomize puts them.
        merged_list = copy.deepcopy(original)
        added = []
        for item in patch:
            names = [entry.get("name") for entry in merged_list]
            if item.get("name") in names:
                index = names.index(item["name"])
                merged_list[index] = _merge(merged_list[index], item)
            else:
                added.append(copy.deepcopy(item))
        return added + merged_list
    return copy.deepcopy(patch)


def _set_image(resource: Resource, image: dict[str, str]) -> None:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name = container["image"].split("@", 1)[0].rsplit(":", 1)[0]
        if name != image["name"]:
            continue
        reference = image.get("newName", name)
        if "digest" in image:
            reference += "@" + image["digest"]
        elif "newTag" in image:
            reference += f":{image['newTag']}"
        container["image"] = reference
