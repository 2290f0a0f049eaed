"""A graph runner that runs Rasa's prediction graph node after node, without dask.

Rasa 3.6 runs the prediction graph of every message (the NLU pipeline, then the policies once
per predicted action) through :class:`rasa.engine.runner.dask.DaskGraphRunner`: for each run
it derives the minimal schema, builds a dask graph, orders it and walks dask's local scheduler.
For a chain of a dozen components that bookkeeping cost about a tenth of the event loop's time
under load (docs/benchmarks.md). The graph never changes once the model is loaded, so this
runner works out each target set's order once and then only calls the nodes.

It subclasses Rasa's runner, so the nodes, their hooks and the errors are Rasa's own; only
``run`` differs. Imports only Rasa and the standard library: it runs in Rasa's environment.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner


def execution_order(schema: GraphSchema, targets: list[str]) -> tuple[str, ...]:
    """The nodes the targets need, each after the nodes it needs (names not in the schema,
    such as the run's inputs, are left out)."""
    order: list[str] = []
    placed: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in placed or name not in schema.nodes:
            return
        if name in path:
            raise GraphRunError(f"The graph has a cycle through '{name}'.")
        for needed in schema.nodes[name].needs.values():
            visit(needed, (*path, name))
        placed.add(name)
        order.append(name)

    for target in targets:
        visit(target, ())
    return tuple(order)


class SequentialGraphRunner(DaskGraphRunner):
    """Runs the nodes a run needs in a fixed order, each once, as dask's scheduler would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: dict[tuple[str, ...], tuple[str, ...]] = {}

    def run(
        self,
        inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None,
    ) -> dict[str, Any]:
        """Runs the graph (see :meth:`rasa.engine.runner.interface.GraphRunner.run`)."""
        run_targets = list(targets) if targets else self._graph_schema.target_names
        # Rasa's own helper checks the inputs against the node names and gives each the
        # ``(name, value)`` form that ``GraphNode.__call__`` takes, as node outputs have.
        graph: dict[str, Any] = dict.fromkeys(self._graph_schema.nodes)
        self._add_inputs_to_graph(inputs, graph)
        outputs = {name: graph[name] for name in inputs or {}}
        try:
            for name in self._order_for(run_targets):
                needs = self._graph_schema.nodes[name].needs.values()
                node = self._instantiated_nodes[name]
                outputs[name] = node(*(outputs.get(needed, needed) for needed in needs))
        except RuntimeError as exc:
            raise GraphRunError("Error running runner.") from exc
        return dict(outputs[target] for target in run_targets)

    def _order_for(self, targets: list[str]) -> tuple[str, ...]:
        key = tuple(targets)
        order = self._orders.get(key)
        if order is None:
            order = self._orders[key] = execution_order(self._graph_schema, targets)
        return order
