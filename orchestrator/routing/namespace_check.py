"""Whether the Temporal namespace a process uses can take its calls: the namespace exists, and the enrollments' search
attributes are registered in it as the types they are set with.

A namespace without them refuses every start call (the gateway answers that as a misconfiguration, not as an outage).
`journey worker`, `journey api` and `journey deploy` run this check when they start (orchestrator/host/preflight.py)
and `/readyz` runs it again (orchestrator/api/ops.py), each with the fix in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.runtime.search_attributes import SEARCH_ATTRIBUTES

SETTING = "TEMPORAL_SEARCH_ATTRIBUTES"
"""The setting that turns the search attributes off (orchestrator/host/variables.py)."""


@dataclass
class Preflight:
    """What was found wrong (each problem says how to fix it), and the search attributes registered on the way."""

    problems: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_temporal(client: Client, *, search_attributes: bool, create: bool = False) -> Preflight:
    """Check that the client's namespace exists and, with `search_attributes`, that every one the enrollments set is
    registered as a Keyword; `create`: register those missing instead of reporting them. Raises RPCError when
    Temporal does not answer (the caller decides whether to wait for it)."""
    namespace = client.namespace
    found = Preflight()
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return found  # a server without namespaces (the time-skipping test server): nothing to check
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        found.problems.append(
            f"the Temporal namespace {namespace!r} does not exist: create it "
            f"(`temporal operator namespace create --namespace {namespace}`) or set TEMPORAL_NAMESPACE to one that does"
        )
        return found
    if not search_attributes:
        return found
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return found  # the time-skipping test server keeps no search attributes to list
        raise
    registered = dict(listed.custom_attributes)
    missing: dict[str, IndexedValueType.ValueType] = {}
    for key in SEARCH_ATTRIBUTES:
        wanted = IndexedValueType.ValueType(int(key.indexed_value_type))
        kind = registered.get(key.name)
        if kind is None:
            missing[key.name] = wanted
        elif kind != wanted:
            found.problems.append(
                f"the search attribute {key.name} is registered in namespace {namespace!r} as {_type_name(kind)}, "
                f"not {_type_name(wanted)}: enrollments cannot set it. Use a namespace without it, or set {SETTING}=false"
            )
    if missing and create:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(search_attributes=missing, namespace=namespace))
        found.created = sorted(missing)
    elif missing:
        commands = "; ".join(
            f"temporal operator search-attribute create --namespace {namespace} --name {name} --type {_type_name(kind)}"
            for name, kind in missing.items()
        )
        found.problems.append(
            f"the search attributes {', '.join(missing)} are not registered in namespace {namespace!r}, so every journey "
            f"start would be refused: start once with --create-search-attributes, or run `{commands}`, "
            f"or set {SETTING}=false (enrollments are then not searchable in the Temporal UI)"
        )
    return found


def _type_name(kind: IndexedValueType.ValueType) -> str:
    return IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_").title()
