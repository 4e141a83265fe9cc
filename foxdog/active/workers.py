"""Seeds in parallel: worker processes, each pinned to one core.

XLA splits an operation's work over the cores its process may use, and the split
changes the order of floating-point sums: the same fit on one core and on two gives
different numbers (seen here: test probabilities differing by 0.09). So a stage's run
computes on exactly one core whatever the number of workers; ``workers`` changes how many
seeds run at once, never a number. The core count is part of the machine kind
(:func:`foxdog.active.state.machine_kind`), so a state made with another count is not
resumed as if it were the same computation.

Two single-core workers fit the CNN ~1.7x faster than one process using both cores
(benchmarks/README.md, "Seeds in parallel").
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_TASK: Callable[[Any], Any] | None = None
#: Whether this OS lets a process pin itself to a core (Linux does; macOS and Windows do not:
#: there the seeds run in the stage's own process, one after another).
CAN_PIN = hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def available_cores() -> list[int]:
    """The cores this process may run on."""
    if CAN_PIN:
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def core_count() -> int:
    """How many cores this process may use (what XLA splits its work over)."""
    return len(available_cores())


def default_workers(n_tasks: int) -> int | None:
    """One worker per available core, no more than there are tasks; None where the OS
    cannot pin a process (run in-process: :func:`foxdog.active.loop.run_specs`)."""
    if not CAN_PIN:
        return None
    return max(1, min(len(available_cores()), n_tasks))


def pin_to_one_core(cores: Any) -> None:
    """Pin this process to one core taken from ``cores`` (a queue), before XLA starts.

    XLA sizes its thread pool from the process' affinity when the backend first starts,
    so this must run before the first JAX computation in the process.
    """
    os.sched_setaffinity(0, {cores.get()})


def _init(cores: Any, task: Callable[[Any], Any]) -> None:
    global _TASK
    pin_to_one_core(cores)
    _TASK = task


def _call(item: Any) -> Any:
    assert _TASK is not None, "worker used before its initializer ran"
    return _TASK(item)


def run_pinned(task: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[tuple[int, R]]:
    """Yield ``(index, task(item))`` as each finishes, ``workers`` single-core processes at once.

    ``task`` is sent to each worker once (a picklable callable, e.g. a ``functools.partial``
    holding the arrays), each item per call. An exception in a task is raised here as it
    was raised there; finished items have been yielded before it.
    """
    cores = available_cores()
    workers = max(1, min(workers, len(items)))
    context = multiprocessing.get_context("spawn")  # fork after XLA has started can deadlock
    queue = context.Queue()
    for i in range(workers):
        queue.put(cores[i % len(cores)])
    with ProcessPoolExecutor(workers, context, initializer=_init, initargs=(queue, task)) as pool:
        pending = {pool.submit(_call, item): i for i, item in enumerate(items)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
        except BrokenProcessPool:
            raise RuntimeError(
                "foxdog: a worker process died (out of memory?); finished seeds are saved, "
                "re-run to resume (or pass --workers 1)"
            ) from None
        finally:
            for future in pending:
                future.cancel()
