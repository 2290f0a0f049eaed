"""The ``graph_runner`` patch runs a graph as Rasa's dask runner does: same outputs, each needed
node once and only those, hooks called, Rasa's errors.

Runs in ``.venv-rasa`` (``test_under_rasa.py``), against Rasa's own ``DaskGraphRunner`` on a
small graph of real ``GraphComponent``s.
"""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path
from typing import Any

import rasa.core.processor
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import (
    ExecutionContext,
    GraphComponent,
    GraphNodeHook,
    GraphSchema,
    SchemaNode,
)
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

from rasa_runtime.graph_runner import SequentialGraphRunner, execution_order
from rasa_runtime.patches import PATCHES

CALLS: list[str] = []


class Step(GraphComponent):
    """Appends its name to what it is given (both inputs, joined, when it has two)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._name = config["name"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Step:
        return cls(config)

    def one(self, x: str) -> str:
        CALLS.append(self._name)
        return f"{x}>{self._name}"

    def two(self, x: str, y: str) -> str:
        CALLS.append(self._name)
        return f"({x}|{y})>{self._name}"

    def fail(self, x: str) -> str:
        raise RuntimeError("boom")


def node(needs: dict[str, str], fn: str, name: str, target: bool = False) -> SchemaNode:
    return SchemaNode(
        needs=needs,
        uses=Step,
        constructor_name="create",
        fn=fn,
        config={"name": name},
        is_target=target,
    )


# A diamond (a → b, a → c, b + c → d) beside a branch no target needs (e).
SCHEMA = GraphSchema(
    {
        "d": node({"x": "b", "y": "c"}, "two", "d", target=True),
        "b": node({"x": "a"}, "one", "b"),
        "c": node({"x": "a"}, "one", "c"),
        "a": node({"x": "__text__"}, "one", "a"),
        "e": node({"x": "a"}, "one", "e"),
    }
)


class Clock(GraphNodeHook):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_before_node(
        self, node_name: str, execution_context: Any, config: Any, received_inputs: Any
    ) -> dict[str, Any]:
        self.seen.append(node_name)
        return {}

    def on_after_node(
        self, node_name: str, execution_context: Any, config: Any, output: Any, input_hook_data: Any
    ) -> None:
        pass


class GraphRunnerCases(unittest.TestCase):
    def setUp(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        self.storage = LocalModelStorage(Path(self._dir.name))
        CALLS.clear()

    def tearDown(self) -> None:
        self._dir.cleanup()

    def runner(
        self,
        cls: type[DaskGraphRunner],
        schema: GraphSchema = SCHEMA,
        hooks: list[GraphNodeHook] | None = None,
    ) -> DaskGraphRunner:
        context = ExecutionContext(graph_schema=schema, model_id="m")
        return cls.create(schema, self.storage, context, hooks)

    def test_same_outputs_as_rasas_runner(self) -> None:
        for targets in (None, ["d"], ["b", "c"], ["e", "d"], ["a"]):
            expected = self.runner(DaskGraphRunner).run({"__text__": "t"}, targets)
            got = self.runner(SequentialGraphRunner).run({"__text__": "t"}, targets)
            self.assertEqual(got, expected, targets)
        self.assertEqual(
            self.runner(SequentialGraphRunner).run({"__text__": "t"}),
            {"d": "(t>a>b|t>a>c)>d"},
        )

    def test_each_needed_node_runs_once_and_no_other(self) -> None:
        runner = self.runner(SequentialGraphRunner)
        runner.run({"__text__": "t"}, ["d"])
        self.assertEqual(sorted(CALLS), ["a", "b", "c", "d"])
        self.assertEqual(CALLS[0], "a")
        self.assertEqual(CALLS[-1], "d")
        CALLS.clear()
        runner.run({"__text__": "u"}, ["d"])  # the cached order gives the same run
        self.assertEqual(sorted(CALLS), ["a", "b", "c", "d"])

    def test_order_puts_every_node_after_its_needs(self) -> None:
        order = execution_order(SCHEMA, ["e", "d"])
        self.assertEqual(set(order), {"a", "b", "c", "d", "e"})
        for name in order:
            for needed in SCHEMA.nodes[name].needs.values():
                if needed in SCHEMA.nodes:
                    self.assertLess(order.index(needed), order.index(name))

    def test_a_cycle_is_refused(self) -> None:
        looped = GraphSchema({"a": node({"x": "b"}, "one", "a"), "b": node({"x": "a"}, "one", "b")})
        with self.assertRaises(GraphRunError):
            execution_order(looped, ["a"])

    def test_hooks_see_every_node(self) -> None:
        clock = Clock()
        self.runner(SequentialGraphRunner, hooks=[clock]).run({"__text__": "t"}, ["d"])
        self.assertEqual(sorted(clock.seen), ["a", "b", "c", "d"])

    def test_errors_are_rasas(self) -> None:
        runner = self.runner(SequentialGraphRunner)
        with self.assertRaises(GraphRunError) as raised:
            runner.run({"d": "d"}, ["d"])
        self.assertIn("clashes with a node name", str(raised.exception))
        failing = GraphSchema({"f": node({"x": "__text__"}, "fail", "f", target=True)})
        for cls in (DaskGraphRunner, SequentialGraphRunner):
            with self.assertRaises(GraphComponentException):
                self.runner(cls, failing).run({"__text__": "t"})

    def test_a_missing_input_fails_as_in_rasa(self) -> None:
        for cls in (DaskGraphRunner, SequentialGraphRunner):
            with self.assertRaises(Exception) as raised:
                self.runner(cls).run({}, ["a"])
            self.assertIn("Missing input to run node 'a'", str(raised.exception), cls)

    def test_the_patch_gives_the_processor_this_runner(self) -> None:
        self.assertIs(rasa.core.processor.DaskGraphRunner, DaskGraphRunner)
        PATCHES["graph_runner"]()
        self.assertIs(rasa.core.processor.DaskGraphRunner, SequentialGraphRunner)


if __name__ == "__main__":
    unittest.main()
