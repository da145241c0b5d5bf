"""A pool of Ray actors (restore.cluster.worker.Worker) that run tasks and stream back their results.

Each worker has one task at a time and gets the next as soon as it returns, so a fast worker takes more. A
worker whose process dies (killed, out of memory, a crash in a decoder) is restarted by Ray (max_restarts=-1),
which then runs its task again, up to MAX_DEATHS times in all (max_task_retries); a task that fails that way is
the one the worker died on each time (it had no other), and it fails alone (WorkerDied) instead of killing
workers for ever. (With tasks queued behind it, Ray's restarts need not rerun them in the order sent, so the
one to blame could not be told from the ones that waited.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from restore.cluster.connect import Shape
from restore.cluster.worker import Worker, WorkerInfo, WorkerSettings
from restore.errors import ReviveError

MAX_DEATHS = 3
WAIT_SLICE = 1.0  # seconds: ray.wait returns this often, so that signals (Ctrl+C, a test's timeout) reach Python


class WorkerDied(ReviveError):
    """A task whose worker process died MAX_DEATHS times while running it."""


class WorkerPool:
    """`shape.workers` actors, each loading its models at start; use as a context manager (kills them)."""

    def __init__(self, ray: ModuleType, shape: Shape, settings: WorkerSettings) -> None:
        actor = ray.remote(Worker).options(
            num_cpus=shape.cpus, num_gpus=shape.gpus, max_restarts=-1, max_task_retries=MAX_DEATHS - 1
        )
        self._ray = ray
        self._actors = [actor.remote(settings) for _ in range(shape.workers)]
        self._starting = {handle.ready.remote(): number for number, handle in enumerate(self._actors)}
        self._ready: list[int] = []
        self._pids: dict[int, int] = {}
        self._error: str | None = None
        self.info: list[WorkerInfo] = []  # of the workers that started, in the order they did
        self.restarts = 0  # worker processes that Ray replaced, as seen from the results and WorkerDied

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._actors:
            self._ray.kill(handle, no_restart=True)

    def map(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, Any]]:
        """Run Worker.`method`(*args) for each tuple in `arguments` and yield (its position, its result) as
        tasks finish, in any order. An exception the method raised, or WorkerDied, is yielded as the result.
        ReviveError when no worker can start (the first worker's reason)."""
        ray = self._ray
        todo = deque(range(len(arguments)))
        running: dict[Any, tuple[int, int]] = {}  # task -> (worker, position)
        busy: set[int] = set()  # workers with a task
        while todo or running:
            for number in self._ready:
                if todo and number not in busy:
                    position = todo.popleft()
                    task = getattr(self._actors[number], method).remote(*arguments[position])
                    running[task] = (number, position)
                    busy.add(number)
            if not running and not self._starting:
                raise ReviveError(f"no worker could start: {self._error}")
            done = self._first_done([*running, *self._starting])
            if done in self._starting:
                self._started(done)
                continue
            number, position = running.pop(done)
            busy.discard(number)
            try:
                pid, result = ray.get(done)
            except ray.exceptions.ActorDiedError as exc:  # for good (it cannot start again): to the others
                if number in self._ready:
                    self._ready.remove(number)
                self._error = self._error or str(exc)
                todo.appendleft(position)
                continue
            except ray.exceptions.RayActorError:  # its worker died MAX_DEATHS times running it
                self.restarts += MAX_DEATHS
                self._pids.pop(number, None)  # its next result comes from a new process: counted here
                yield position, WorkerDied(f"its worker died {MAX_DEATHS} times on it (out of memory?)")
                continue
            except ray.exceptions.RayTaskError as exc:
                yield position, exc.cause if isinstance(exc.cause, BaseException) else exc
                continue
            if self._pids.setdefault(number, pid) != pid:
                self._pids[number] = pid
                self.restarts += 1
            yield position, result

    def _first_done(self, refs: list[Any]) -> Any:
        """The first of `refs` to finish, waited for in slices of WAIT_SLICE: Ray holds back an exception raised
        by a signal handler (a test's timeout, say) until its wait returns, which without a timeout is never."""
        while True:
            done, _ = self._ray.wait(refs, num_returns=1, timeout=WAIT_SLICE)
            if done:
                return done[0]

    def _started(self, ready: Any) -> None:
        number = self._starting.pop(ready)
        try:
            info = self._ray.get(ready)
        except self._ray.exceptions.RayError as exc:
            self._error = self._error or str(exc)
            return
        if info.error is not None:
            self._error = self._error or info.error
            self._ray.kill(self._actors[number], no_restart=True)
            return
        self._pids[number] = info.pid
        self.info.append(info)
        self._ready.append(number)
