#!/usr/bin/env python3
"""PgQueuer as a reference point for our benchmark, on the same PostgreSQL cluster.

Run with the interpreter of the virtualenv that ops/bench/pgqueuer-setup prepares:

  VENV/bin/python ops/bench/pgqueuer_bench.py --dsn postgres://postgres@127.0.0.1:PORT/DB --mode drain --jobs 20000
  VENV/bin/python ops/bench/pgqueuer_bench.py --dsn ... --mode latency --rate 50 --seconds 10

The database should be a scratch one: PgQueuer's tables in it are dropped and installed anew
(with PgQueuer's own installer) at the start of every run.

drain    Enqueues --jobs no-op jobs in batches of --enqueue-batch (timed on its own), then starts
         one consumer process with PgQueuer's defaults (PgQueuer.run with no arguments but the
         drain mode, which makes it return once the queue is empty). The drain rate is
         jobs / (time from just before the consumer's run() call to its return, when every
         job's completion has been written back).
latency  Starts one consumer process with PgQueuer's defaults and waits until its LISTEN works,
         then enqueues one job per transaction at --rate per second for --seconds. The producer
         reads the clock right after each enqueue call returns (the commit is done); the job's
         handler reads the clock as it starts. The latency is the difference, matched by job id
         (a payload is written before the commit, so it cannot carry the commit time itself; it
         carries the job's sequence number and the time the enqueue call was made, which gives
         the secondary *_from_call figures). Reports p50 / p99 / max in ms once every job has
         been handled and acknowledged.

stdout gets exactly one JSON line at the end; everything else goes to stderr. Exits non-zero
with a message on any failure, and within --timeout seconds (default 240) in all cases.
The consumer runs as a child process of this script (`--role consumer`); it stops when its
stdin closes, so it never outlives the parent.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import inspect
import json
import math
import os
import signal
import sys
import time
import traceback

ENTRYPOINT = "bench_noop"
READY_TIMEOUT_S = 30.0
LATENCY_WAIT_S = 30.0
CHILD_EXIT_TIMEOUT_S = 30.0


class BenchError(Exception):
    pass


def now() -> float:
    # CLOCK_MONOTONIC is one clock for every process on the machine (Linux), so the parent's and the
    # consumer's readings can be subtracted.
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def log(text: str) -> None:
    sys.stderr.write(f"[pgqueuer-bench] {text}\n")
    sys.stderr.flush()


def clean_environment() -> None:
    """PgQueuer reads its table names, channel and durability from the environment; use its defaults."""
    names = {"pgqueuer_dsn", "pgdsn", "db_schema"}
    for field in ("channel", "function", "statistics_table", "queue_status_type", "queue_table",
                  "queue_table_log", "trigger", "schedules_table", "durability", "widen_id"):
        names.update({field, f"pgqueuer_{field}"})
    for key in list(os.environ):
        if key.lower() in names or key.lower().startswith("pgqueuer_"):
            log(f"ignoring environment variable {key} so that PgQueuer runs with its defaults")
            del os.environ[key]


def take_stdout() -> int:
    """Keep the real stdout (returned as a new fd) for our own lines; point fd 1 and sys.stdout at stderr."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return fd


def write_line(fd: int, obj: dict) -> bool:
    """Write one JSON line to *fd* unbuffered; False when the reader is gone."""
    data = (json.dumps(obj) + "\n").encode()
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        return False
    return True


def run_loop(coro):
    try:
        import uvloop  # PgQueuer's CLI runs its workers on uvloop when it is installed
    except ImportError:
        return asyncio.run(coro), "asyncio"
    return uvloop.run(coro), "uvloop"


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank, the same rule as our Swift benchmark."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, math.ceil(len(sorted_values) * p) - 1)]


def pgqueuer_facts() -> dict:
    import asyncpg
    import pgqueuer
    from pgqueuer import PgQueuer

    params = inspect.signature(PgQueuer.run).parameters
    return {
        "pgqueuer_version": pgqueuer.__version__,
        "driver": f"asyncpg {asyncpg.__version__}",
        "batch_size": params["batch_size"].default,
        "max_concurrent_tasks": params["max_concurrent_tasks"].default,
    }


# ---------------------------------------------------------------- consumer (child process)


async def consumer_main(args: argparse.Namespace, channel: int) -> int:
    import asyncpg
    from pgqueuer import PgQueuer
    from pgqueuer.errors import FailingListenerError
    from pgqueuer.models import Job
    from pgqueuer.types import QueueExecutionMode
    from datetime import timedelta

    loop = asyncio.get_running_loop()
    parent_gone = False

    def emit(event: dict) -> None:
        nonlocal parent_gone
        if not parent_gone and not write_line(channel, event):
            parent_gone = True  # nobody left to report to: stop
            pgq.shutdown.set()

    conn = await asyncpg.connect(dsn=args.dsn, timeout=10)
    try:
        pgq = PgQueuer.from_asyncpg_connection(conn)
        handled = 0
        last_handler = 0.0

        if args.mode == "drain":
            @pgq.entrypoint(ENTRYPOINT)
            async def noop(job: Job) -> None:
                nonlocal handled, last_handler
                handled += 1
                last_handler = now()
        else:
            @pgq.entrypoint(ENTRYPOINT)
            async def probe(job: Job) -> None:
                nonlocal handled, last_handler
                started = now()
                handled += 1
                last_handler = started
                payload = json.loads(job.payload or b"{}")
                emit({"ev": "job", "id": int(job.id), "t": started, "t_call": payload.get("t_call")})

        # Stop cleanly on SIGTERM/SIGINT or when the parent closes our stdin (or dies).
        def stop(*_: object) -> None:
            pgq.shutdown.set()

        def stdin_readable() -> None:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(0)
            stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        loop.add_reader(0, stdin_readable)

        async def announce_ready() -> None:
            # PgQueuer's own NOTIFY round trip: succeeds once run() has its LISTEN in place.
            while not pgq.shutdown.is_set():
                try:
                    await pgq.qm.listener_healthy(timeout=timedelta(seconds=0.5))
                except FailingListenerError:
                    continue
                emit({"ev": "ready", "t": now()})
                return

        ready_task = asyncio.create_task(announce_ready()) if args.mode == "latency" else None
        mode = QueueExecutionMode.drain if args.mode == "drain" else QueueExecutionMode.continuous
        t_start = now()
        await pgq.run(mode=mode)  # every other setting at PgQueuer's default
        t_end = now()
        if ready_task is not None:
            ready_task.cancel()
        emit({"ev": "done", "t_start": t_start, "t_end": t_end, "handled": handled, "t_last_handler": last_handler})
        return 0
    finally:
        await conn.close(timeout=5)


def consumer_entry(args: argparse.Namespace) -> int:
    channel = take_stdout()
    faulthandler.dump_traceback_later(args.timeout + 60, exit=True)
    import logging
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="[pgqueuer-bench consumer] %(levelname)s %(name)s: %(message)s")
    try:
        rc, _ = run_loop(consumer_main(args, channel))
        return rc
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        write_line(channel, {"ev": "error", "msg": f"{type(exc).__name__}: {exc}"})
        return 1


# ---------------------------------------------------------------- parent


class Consumer:
    """The consumer child process and the events it reports on its stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ready = asyncio.Event()
        self.done = asyncio.Event()
        self.ended = asyncio.Event()
        self.result: dict | None = None
        self.error: str | None = None
        self.jobs: dict[int, tuple[float, float | None]] = {}
        self.jobs_changed = asyncio.Event()
        self.reader = asyncio.create_task(self.read())

    @classmethod
    async def start(cls, args: argparse.Namespace, mode: str) -> "Consumer":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "--role", "consumer",
            "--dsn", args.dsn, "--mode", mode, "--timeout", str(args.timeout),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
        )
        return cls(proc)

    async def read(self) -> None:
        assert self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                try:
                    event = json.loads(line)
                except ValueError:
                    sys.stderr.write(f"[consumer stdout] {line.decode(errors='replace')}")
                    continue
                kind = event.get("ev")
                if kind == "job":
                    self.jobs[event["id"]] = (event["t"], event.get("t_call"))
                    self.jobs_changed.set()
                elif kind == "ready":
                    self.ready.set()
                elif kind == "done":
                    self.result = event
                    self.done.set()
                elif kind == "error":
                    self.error = event.get("msg")
        finally:
            self.ended.set()
            self.jobs_changed.set()

    async def until(self, event: asyncio.Event, timeout: float, what: str) -> None:
        """Wait for *event*; fail early if the consumer ends first, or after *timeout* seconds."""
        waiter = asyncio.create_task(event.wait())
        ender = asyncio.create_task(self.ended.wait())
        try:
            await asyncio.wait({waiter, ender}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            ender.cancel()
        if event.is_set():
            return
        if self.ended.is_set():
            await self.proc.wait()
            raise BenchError(f"the consumer ended (exit code {self.proc.returncode}) before {what}"
                             + (f": {self.error}" if self.error else ""))
        raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")

    async def stop(self) -> None:
        """Ask for a clean stop (close its stdin); insist only if it does not comply."""
        if self.proc.returncode is None and self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), CHILD_EXIT_TIMEOUT_S)
        except asyncio.TimeoutError:
            log("the consumer did not stop within 30 s of its stdin closing; sending SIGTERM")
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await asyncio.wait({self.reader}, timeout=5)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()


async def connect(dsn: str):
    import asyncpg
    try:
        return await asyncpg.connect(dsn=dsn, timeout=10)
    except Exception as exc:
        raise BenchError(f"cannot connect to {dsn}: {type(exc).__name__}: {exc}") from exc


async def reinstall_schema(dsn: str) -> None:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    conn = await connect(dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        if await queries.schema_is_installed():
            log("dropping the PgQueuer schema left by an earlier run")
            await queries.uninstall()
        await queries.install()
        log("installed the PgQueuer schema (its installer, default settings)")
    finally:
        await conn.close()


async def count_rows(conn, table: str, where: str = "") -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table} {where}")


async def drain(args: argparse.Namespace, facts: dict) -> dict:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    if args.jobs < 1:
        raise BenchError("--jobs must be at least 1")
    await reinstall_schema(args.dsn)
    conn = await connect(args.dsn)
    try:
        queries = Queries(AsyncpgDriver(conn))
        settings = queries.qbe.settings
        log(f"drain: enqueueing {args.jobs} jobs in batches of {args.enqueue_batch}")
        t0 = now()
        left = args.jobs
        while left > 0:
            n = min(args.enqueue_batch, left)
            await queries.enqueue([ENTRYPOINT] * n, [None] * n, [0] * n)
            left -= n
        enqueue_s = now() - t0
        queued = await count_rows(conn, settings.queue_table)
        if queued != args.jobs:
            raise BenchError(f"expected {args.jobs} queued jobs after the enqueue, found {queued}")

        log(f"drain: enqueued in {enqueue_s:.2f} s; starting one consumer (batch size {facts['batch_size']}, "
            f"max_concurrent_tasks {facts['max_concurrent_tasks']}, drain mode)")
        consumer = await Consumer.start(args, "drain")
        try:
            await consumer.until(consumer.done, args.timeout, f"the drain of {args.jobs} jobs")
            await consumer.stop()
        finally:
            await consumer.kill()
        if consumer.proc.returncode != 0:
            raise BenchError(f"the consumer exited with code {consumer.proc.returncode}")
        result = consumer.result or {}
        drain_s = result["t_end"] - result["t_start"]
        left_in_queue = await count_rows(conn, settings.queue_table)
        successful = await count_rows(conn, settings.queue_table_log, "WHERE status = 'successful'")
        if result["handled"] != args.jobs or left_in_queue != 0 or successful != args.jobs:
            raise BenchError(f"drain incomplete: handler ran {result['handled']} times, {left_in_queue} jobs "
                             f"left in the queue, {successful} logged successful, of {args.jobs}")
        to_last_handler = result["t_last_handler"] - result["t_start"]
        log(f"drain: {args.jobs} jobs in {drain_s:.2f} s (last handler ran at {to_last_handler:.2f} s)")
        return {
            "mode": "drain",
            "jobs": args.jobs,
            "drain_jobs_per_s": round(args.jobs / drain_s, 1),
            "enqueue_jobs_per_s": round(args.jobs / enqueue_s, 1),
            "drain_s": round(drain_s, 3),
            "enqueue_s": round(enqueue_s, 3),
            "enqueue_batch": args.enqueue_batch,
            **facts,
        }
    finally:
        await conn.close()


async def latency(args: argparse.Namespace, facts: dict) -> dict:
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    total = int(round(args.rate * args.seconds))
    if args.rate <= 0 or total < 1:
        raise BenchError("--rate and --seconds must give at least one job")
    await reinstall_schema(args.dsn)
    consumer = await Consumer.start(args, "latency")
    conn = None
    try:
        await consumer.until(consumer.ready, READY_TIMEOUT_S, "the consumer to start listening")
        await asyncio.sleep(0.5)  # let it settle into its idle wait
        conn = await connect(args.dsn)
        queries = Queries(AsyncpgDriver(conn))
        settings = queries.qbe.settings
        log(f"latency: {total} jobs, one per transaction, at {args.rate:g}/s on an idle consumer")
        committed: dict[int, float] = {}
        start = now()
        for i in range(total):
            wait = start + i / args.rate - now()
            if wait > 0:
                await asyncio.sleep(wait)
            t_call = now()
            ids = await queries.enqueue(ENTRYPOINT, json.dumps({"seq": i, "t_call": t_call}).encode())
            committed[int(ids[0])] = now()
        produce_s = now() - start

        deadline = now() + LATENCY_WAIT_S
        while not all(job_id in consumer.jobs for job_id in committed):
            if consumer.ended.is_set():
                break
            remaining = deadline - now()
            if remaining <= 0:
                break
            consumer.jobs_changed.clear()
            try:
                await asyncio.wait_for(consumer.jobs_changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        missing = [job_id for job_id in committed if job_id not in consumer.jobs]
        if missing:
            raise BenchError(f"{len(missing)} of {total} jobs were not handled within {LATENCY_WAIT_S:.0f} s "
                             f"of the last enqueue" + (" (the consumer ended)" if consumer.ended.is_set() else ""))
        # Handled is not yet acknowledged: PgQueuer writes completions back in batches.
        while (left := await count_rows(conn, settings.queue_table)) and now() < deadline:
            await asyncio.sleep(0.05)
        if left:
            raise BenchError(f"{left} handled jobs were still not acknowledged after {LATENCY_WAIT_S:.0f} s")

        await consumer.stop()
        if consumer.proc.returncode != 0:
            raise BenchError(f"the consumer exited with code {consumer.proc.returncode}")
    finally:
        await consumer.kill()
        if conn is not None:
            await conn.close()

    lat = sorted((consumer.jobs[j][0] - t) * 1000 for j, t in committed.items())
    from_call = sorted((t - c) * 1000 for t, c in consumer.jobs.values() if c is not None)
    out = {
        "mode": "latency",
        "count": len(lat),
        "p50_ms": round(percentile(lat, 0.50), 2),
        "p99_ms": round(percentile(lat, 0.99), 2),
        "max_ms": round(lat[-1], 2),
        "min_ms": round(lat[0], 2),
        "p50_ms_from_call": round(percentile(from_call, 0.50), 2),
        "p99_ms_from_call": round(percentile(from_call, 0.99), 2),
        "rate": args.rate,
        "seconds": args.seconds,
        "achieved_rate": round(total / produce_s, 1) if produce_s > 0 else None,
        **facts,
    }
    log(f"latency: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, max {out['max_ms']} ms over {out['count']} jobs")
    return out


async def parent_main(args: argparse.Namespace) -> dict:
    facts = pgqueuer_facts()
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main_task.cancel)
    work = drain(args, facts) if args.mode == "drain" else latency(args, facts)
    try:
        return await asyncio.wait_for(work, args.timeout)
    except asyncio.TimeoutError:
        raise BenchError(f"the run did not finish within --timeout {args.timeout:.0f} s") from None


def parent_entry(args: argparse.Namespace) -> int:
    out = take_stdout()
    # A backstop under everything: dump the stacks and exit if even the cleanup hangs.
    faulthandler.dump_traceback_later(args.timeout + 45, exit=True)
    try:
        import asyncpg  # noqa: F401
        import pgqueuer  # noqa: F401
    except ImportError as exc:
        log(f"error: {exc}; run this with the virtualenv from ops/bench/pgqueuer-setup")
        return 1
    try:
        result, loop_kind = run_loop(parent_main(args))
    except BenchError as exc:
        log(f"error: {exc}")
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        log("error: interrupted by a signal")
        return 130
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        log(f"error: {type(exc).__name__}: {exc}")
        return 1
    result["event_loop"] = loop_kind
    if not write_line(out, result):
        log("error: could not write the result to stdout")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark PgQueuer (drain rate, wake-up latency).")
    parser.add_argument("--dsn", required=True, help="postgres:// URL of a scratch database")
    parser.add_argument("--mode", choices=("drain", "latency"), required=True)
    parser.add_argument("--jobs", type=int, default=20000, help="drain: jobs to enqueue and drain")
    parser.add_argument("--enqueue-batch", type=int, default=1000, help="drain: jobs per enqueue call")
    parser.add_argument("--rate", type=float, default=50.0, help="latency: jobs per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: how long to enqueue")
    parser.add_argument("--timeout", type=float, default=240.0, help="hard limit on the run, in seconds")
    parser.add_argument("--role", choices=("main", "consumer"), default="main", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.enqueue_batch < 1:
        parser.error("--enqueue-batch must be at least 1")
    clean_environment()
    return consumer_entry(args) if args.role == "consumer" else parent_entry(args)


if __name__ == "__main__":
    sys.exit(main())
