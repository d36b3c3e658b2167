"""The one way to write: an action (ADR 0014).

Every write to a domain model happens inside a function decorated with ``@action``:

    @action
    def set_priority(*, actor: Actor, ticket: Ticket, priority: Priority, now: dt.datetime) -> None:
        ...
        update(ticket, priority=priority, priority_rank=priority.rank)   # or ticket.save(...)
        record_event(...)                                                 # the audit entry
        on_commit(lambda: ...)                                            # a side effect

What an action may rely on, wherever it runs (a web request, a sweep, a batch of mail):

- **One transaction.** The outermost action opens it; an action called inside another action,
  or inside a batch of the intake wall, joins it (no savepoint: an action is all or nothing,
  and its caller's too). Code that wants to survive a failure opens its own
  ``transaction.atomic()`` savepoint, which works inside a batch as well.
- **Rows get their ids when written.** ``insert(row)`` (or ``row.save()``) gives the row its
  primary key before it returns; what is written is the row as it was then.
- **Reads see the writes before them**, whatever SQL they use.
- **Side effects wait for the commit** (``on_commit``); if the transaction rolls back, they
  never happen.
- **Configuration reads may be cached** per batch: decorate the reading function with
  ``@cached`` (its arguments are the key).

Whether the action runs inside a batch is never its business: the intake wall
(``radicado.tickets.intake``) and this module are the only code that imports the unit of work.

Writes outside any action are a bug: with ``settings.RADICADO_STRICT_WRITES`` (on in the tests),
any statement other than a read that names a domain table, made outside an action while serving a
request, running a job or a command (``guarded`` / ``guarded_call``), raises ``WriteOutsideAction``.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db import transaction
from django.db.models import Model

from radicado import unit_of_work

M = TypeVar("M", bound=Model)
T = TypeVar("T")
P = ParamSpec("P")

_depth: ContextVar[int] = ContextVar("radicado_action_depth", default=0)


def action(fn: Callable[P, T]) -> Callable[P, T]:
    """Declare a write: ``fn`` runs in one transaction, joined by the actions it calls (see the module)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with acting():
            return fn(*args, **kwargs)

    wrapper.is_action = True  # type: ignore[attr-defined]
    return wrapper


@contextlib.contextmanager
def acting() -> Iterator[None]:
    """The body of an action, for the few places that are not one function (an interface's sign-in)."""
    depth = _depth.get()
    joined = depth > 0 or unit_of_work.current() is not None
    token = _depth.set(depth + 1)
    try:
        with transaction.atomic(savepoint=not joined):
            yield
    finally:
        _depth.reset(token)


def in_action() -> bool:
    """Whether the caller runs inside an action (or a batch of the intake wall)."""
    return _depth.get() > 0 or unit_of_work.current() is not None


def insert(row: M, *, ignore_conflicts: bool = False) -> M:
    """Insert a new row; it has its primary key when this returns (but with ``ignore_conflicts``)."""
    return unit_of_work.insert(row, ignore_conflicts=ignore_conflicts)


def update(row: M, **fields: Any) -> M:
    """Set ``fields`` on ``row`` and write them to its row."""
    return unit_of_work.update(row, **fields)


def on_commit(run: Callable[[], object]) -> None:
    """Call ``run()`` once the transaction commits (never if it rolls back)."""
    transaction.on_commit(run)


def on_commit_grouped(key: Any, item: Any, run: Callable[[list[Any]], object]) -> None:
    """Collect ``item`` under ``key``; after the commit, ``run(items)`` is called once per key and batch.

    Outside a batch each item is its own group (``run([item])``).
    """
    uow = unit_of_work.current()
    if uow is not None:
        uow.after_commit(key, item, run)
    else:
        transaction.on_commit(lambda: run([item]))


def cached(fn: Callable[P, T]) -> Callable[P, T]:
    """A configuration read, done once per batch for the same arguments (each time outside a batch).

    For rows that a batch does not change: workflow states, priorities, tiers, rules.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        uow = unit_of_work.current()
        if uow is None:
            return fn(*args, **kwargs)
        key = (wrapper, args, tuple(sorted(kwargs.items())))
        return uow.read(key, lambda: fn(*args, **kwargs))

    return wrapper


# --- the write guard ------------------------------------------------------------------------


class WriteOutsideAction(RuntimeError):
    """A domain table was written outside an action (a bug: see ADR 0014)."""


_guarded: ContextVar[bool] = ContextVar("radicado_writes_guarded", default=False)
# Statements that are not a domain write: reads, transaction control, and schema changes (migrations).
_READ = re.compile(
    r"\s*(?:SELECT|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|PRAGMA|SHOW|EXPLAIN|SET|CREATE|ALTER|DROP)\b", re.IGNORECASE
)
# The table a plain write names: INSERT [OR …] INTO, REPLACE INTO, UPDATE [OR …] [ONLY], DELETE FROM [ONLY],
# TRUNCATE [TABLE], possibly schema-qualified and quoted.
_TARGET = re.compile(
    r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?"
    r'|TRUNCATE(?:\s+TABLE)?(?:\s+ONLY)?)\s+((?:"?\w+"?\.)?"?\w+"?)',
    re.IGNORECASE,
)
_domain_tables: re.Pattern[str] | None = None


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Inside this block (a request, a job, a command), writes outside an action are refused."""
    token = _guarded.set(True)
    try:
        yield
    finally:
        _guarded.reset(token)


def guarded_call(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn`` (a job, a command's ``handle``) under ``guarded()``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with guarded():
            return fn(*args, **kwargs)

    return wrapper


def _tables() -> re.Pattern[str]:
    """Any domain table named as a whole word, quoted or not (join tables of many-to-many fields too)."""
    global _domain_tables
    if _domain_tables is None:
        from django.apps import apps

        names = sorted(
            {
                m._meta.db_table.lower()
                for m in apps.get_models(include_auto_created=True)
                if m._meta.app_config is not None and m._meta.app_config.name.startswith("radicado.")
            },
            key=len,
            reverse=True,
        )
        _domain_tables = re.compile(rf"(?<![\w$])(?:{'|'.join(map(re.escape, names))})(?![\w$])", re.IGNORECASE)
    return _domain_tables


def refuse_writes_outside_actions(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    """A connection's execute wrapper (installed when ``RADICADO_STRICT_WRITES`` is on)."""
    if _guarded.get() and not in_action() and not _READ.match(sql):
        target = _TARGET.match(sql)
        if target:  # the table written: a domain table (not, say, a migration's "new__" copy)?
            found = _tables().fullmatch(target.group(1).rpartition(".")[2].replace('"', ""))
        else:  # any other statement that is not a read: does it name a domain table at all?
            found = _tables().search(sql)
        if found:
            raise WriteOutsideAction(f"{found.group(0)} written outside an action: {sql[:120]}")
    return execute(sql, params, many, context)
