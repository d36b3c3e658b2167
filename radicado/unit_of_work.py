"""A unit of work: many inbound messages processed in one transaction, as if one by one.

Registering a request through the ORM costs far more Python than database: most of a
message's time goes to building and compiling ~20 statements, half of which read
configuration that is the same for every message, and half of which append rows
nobody reads back in the same breath (timeline events, clocks, Message-ID index rows,
auto-reply marks, outbox rows). A unit of work (ADR 0010) lets a batch of messages

- read each configuration row once (``memoised``),
- append those rows in one ``bulk_create`` per model at the end (``insert``), and
- do the same for the rows the messages are about, tickets and replies, whose ids are
  needed at once: ``insert_with_id`` gives the row an id taken from the table's sequence
  (``reserve_id``) and writes it later; a ticket's "last activity" stamp is written later
  too (``update``),

while every message still sees what the messages before it did: code that reads a kind
of row it may also have deferred either counts the rows the unit of work made (``pending``,
``made``) or has them written first (``flush_for`` a ticket, as the ANS clock readers do).
And as a rule for every statement (ADR 0012): before any SQL that names the table of a
model with rows or updates waiting, those are written first, so no query can miss them.

Outside a unit of work both helpers do the plain thing (read now, ``save`` now), so
actions called from the console, the portal, the API or a sweep are unchanged.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.db import connection, transaction
from django.db.models import Model

M = TypeVar("M", bound=Model)
T = TypeVar("T")
P = ParamSpec("P")


# The benchmark's A/B switch for ADR 0012 (benchmarks/mail, ADR 0014): with RADICADO_BATCH_DEFER=0 a batch
# writes every row at once (memoised reads, id and number blocks stay). Not an operator setting.
DEFER = os.environ.get("RADICADO_BATCH_DEFER", "1") != "0"


class SavepointWrite(RuntimeError):
    """A unit of work was asked to write inside a savepoint (see ``UnitOfWork._not_in_savepoint``)."""


class UnitOfWork:
    """Memoised configuration reads and deferred appends for one transaction."""

    def __init__(self) -> None:
        self.memo: dict[Any, Any] = {}
        self._pending: list[tuple[Model, bool, Model]] = []  # (snapshot, ignore_conflicts, row), in order made
        self._pending_of: dict[type[Model], list[Model]] = {}  # the same rows, per model
        self._made_of: dict[type[Model], list[Model]] = {}  # every row inserted, written or pending, per model
        self._new: set[tuple[type[Model], Any]] = set()  # (model, pk) of every row inserted
        self._new_order: list[tuple[type[Model], Any]] = []  # the same, in the order made
        self._marks: list[tuple[str, dict[type[Model], int], int, dict[Any, int]]] = []  # open savepoints (see _mark)
        self._updates: dict[type[Model], dict[Any, tuple[Model, dict[str, Any]]]] = {}  # model -> pk -> (row, fields)
        self._tables: dict[type[Model], str] = {}  # models with rows or updates waiting -> their table name
        self._pattern: re.Pattern[str] | None = None  # matches the names in _tables
        self._free_ids: dict[type[Model], list[int]] = {}  # reserved ids not handed out yet, last first
        self._flushing = False
        self._after_commit: dict[Any, tuple[Callable[[list[Any]], object], list[Any]]] = {}
        self._before_commit: list[Callable[[], object]] = []
        self.expected = 1  # how many rows of a model the work may make: the size of an id reservation
        self._depth = _savepoints()  # savepoints open when the unit of work began
        self.broken: str | None = None  # why the unit of work must not commit (see _not_in_savepoint)

    def read(self, key: Any, load: Callable[[], T]) -> T:
        if key not in self.memo:
            self.memo[key] = load()
        return self.memo[key]  # type: ignore[no-any-return]

    def add(self, obj: Model, *, ignore_conflicts: bool = False) -> None:
        """Register a new row: it gets its id now (but for ``ignore_conflicts`` rows) and is written later.

        What is written is the row as it is now (a snapshot): a field changed on ``obj`` afterwards is
        not written, exactly as after a plain ``save`` (ADR 0014). Inside a savepoint opened after the
        unit of work began, the row is written at once instead, so that a rollback to that savepoint
        takes it away as it would outside a unit of work.
        """
        model = type(obj)
        self._made_of.setdefault(model, []).append(obj)
        if not DEFER or self._in_savepoint():
            _insert_now(obj, ignore_conflicts=ignore_conflicts)
        else:
            if obj.pk is None and not ignore_conflicts:
                obj.pk = self.reserve_id(model)
            _stamp(obj)
            self._pending.append((_snapshot(obj), ignore_conflicts, obj))
            self._pending_of.setdefault(model, []).append(obj)
            self._waiting(model)
            obj._state.adding, obj._state.db = False, connection.alias  # as after a save: a later save() updates
        if obj.pk is not None:
            self._new.add((model, obj.pk))
            self._new_order.append((model, obj.pk))

    def reserve_id(self, model: type[Model]) -> int:
        """A primary key for a ``model`` row to be inserted later, from the table's own sequence.

        Ids are taken ``expected`` at a time (one statement) and handed out in ascending order, so
        rows get ids in the order they were made, as if each were saved at once. Ids a unit of work
        does not use are skipped, as PostgreSQL skips those of a rolled-back insert.
        """
        free = self._free_ids.setdefault(model, [])
        if not free:
            if connection.vendor != "postgresql":  # nextval is not undone by a rollback; sqlite_sequence is
                self._not_in_savepoint("reserve ids")
            free.extend(sorted(_take_ids(model, max(1, self.expected)), reverse=True))
        return free.pop()

    def _in_savepoint(self) -> bool:
        """Whether a savepoint opened after the unit of work began is open (writes then go straight through)."""
        return _savepoints() > self._depth

    def _not_in_savepoint(self, what: str) -> None:
        """Refuse to write for the unit of work inside a savepoint opened after it began.

        Rows waiting when a savepoint opens are written before it (``before_statement``) and rows
        made inside it are written at once (``add``), so this is a last line of defence: it marks
        the unit of work broken, which then raises when it ends, and its caller does the work again
        without one (a batch of mail: one message at a time).
        """
        if self._in_savepoint():
            self.broken = f"asked to {what} inside a savepoint"
            raise SavepointWrite(self.broken)

    def update(self, obj: Model, fields: dict[str, Any]) -> None:
        """Set ``fields`` on ``obj`` now and on its row at the next flush (later values win)."""
        for name, value in fields.items():
            setattr(obj, name, value)
        model = type(obj)
        if not DEFER or self._in_savepoint():
            model._default_manager.filter(pk=obj.pk).update(**fields)
            return
        row = self._updates.setdefault(model, {}).setdefault(obj.pk, (obj, {}))
        row[1].update(fields)
        self._waiting(model)

    def _waiting(self, model: type[Model]) -> None:
        if model not in self._tables:
            self._tables[model] = model._meta.db_table
            self._pattern = None

    def before_statement(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        """Django's ``execute_wrapper``: write what waits for a table before SQL that names it.

        A table counts as named however the SQL spells it (quoted or not, any case), so raw SQL
        cannot miss a waiting row. Before a savepoint opens, everything waiting is written, so that
        a rollback to it cannot take away rows the unit of work counts as written.
        """
        if sql.startswith(("SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT")):
            if sql.startswith("SAVEPOINT") and self._tables and not self._flushing:
                self.flush()
            result = execute(sql, params, many, context)
            self._mark(sql)
            return result
        if self._tables and not self._flushing:
            named = self._named(sql)
            if named:
                self.flush(named)
        return execute(sql, params, many, context)

    def _mark(self, sql: str) -> None:
        """Follow savepoints opened inside the unit of work: a rollback to one forgets what was made since.

        Rows made inside a savepoint were written at once (``add``); after ``ROLLBACK TO SAVEPOINT`` they
        are gone from the database, so they leave ``made``/``is_new`` and the after-commit items collected
        since go too, exactly as ``transaction.on_commit`` callbacks of a rolled-back savepoint do.
        """
        verb, _, sid = sql.rpartition(" ")
        if verb == "SAVEPOINT":
            made = {model: len(rows) for model, rows in self._made_of.items()}
            items = {key: len(entry[1]) for key, entry in self._after_commit.items()}
            self._marks.append((sid, made, len(self._new_order), items))
            return
        at = next((i for i in range(len(self._marks) - 1, -1, -1) if self._marks[i][0] == sid), None)
        if at is None:
            return
        _, made, new_count, items = self._marks[at]
        if verb == "ROLLBACK TO SAVEPOINT":
            for model, rows in self._made_of.items():
                del rows[made.get(model, 0) :]
            for entry in self._new_order[new_count:]:
                self._new.discard(entry)
            del self._new_order[new_count:]
            for key in list(self._after_commit):
                kept = items.get(key, 0)
                if kept:
                    del self._after_commit[key][1][kept:]
                else:
                    del self._after_commit[key]
            del self._marks[at + 1 :]  # the savepoint itself stays open after a rollback to it
        else:  # RELEASE
            del self._marks[at:]

    def _named(self, sql: str) -> list[type[Model]]:
        if self._pattern is None:
            names = sorted({table.lower() for table in self._tables.values()}, key=len, reverse=True)
            alternatives = "|".join(re.escape(name) for name in names)
            self._pattern = re.compile(rf"(?<![\w$])(?:{alternatives})(?![\w$])", re.IGNORECASE)
        found = {m.group(0).lower() for m in self._pattern.finditer(sql)}
        return [model for model, table in self._tables.items() if table.lower() in found] if found else []

    def pending(self, model: type[M]) -> list[M]:
        """Rows of ``model`` waiting for the flush, oldest first."""
        return list(self._pending_of.get(model, ()))  # type: ignore[arg-type]

    def made(self, model: type[M]) -> list[M]:
        """Rows of ``model`` this unit of work inserted, written or pending, oldest first."""
        return list(self._made_of.get(model, ()))  # type: ignore[arg-type]

    def before_commit(self, run: Callable[[], object]) -> None:
        """Call ``run()`` at the end of the unit of work, after the last flush, inside the transaction."""
        self._before_commit.append(run)

    def after_commit(self, key: Any, item: Any, run: Callable[[list[Any]], object]) -> None:
        """Collect ``item`` under ``key``; once the transaction commits, ``run(items)`` is called once per key."""
        self._after_commit.setdefault(key, (run, []))[1].append(item)

    def is_new(self, obj: Model) -> bool:
        """Whether this unit of work inserted ``obj`` (so no other transaction has rows pointing at it)."""
        return (type(obj), obj.pk) in self._new

    def flush(self, models: Iterable[type[Model]] | None = None) -> None:
        """One INSERT per model and conflict mode, in the order their first row was made, then the updates.

        Rows of one model and mode keep the order they were made in (their ids follow it); insert a
        model's rows in one mode where that order matters (the Message-ID index). Deferred rows point
        at rows that are saved or have their id (``insert_with_id``): foreign keys are checked at
        commit. ``models``: only those models' rows and updates (the others keep waiting).
        """
        if self._pending or self._updates:
            self._not_in_savepoint("write waiting rows")
        only = None if models is None else set(models)
        if only is None:
            rows, self._pending, self._pending_of = self._pending, [], {}
            updates, self._updates = self._updates, {}
            self._tables, self._pattern = {}, None
        else:
            rows = [entry for entry in self._pending if type(entry[0]) in only]
            self._pending = [entry for entry in self._pending if type(entry[0]) not in only]
            updates = {m: self._updates.pop(m) for m in only if m in self._updates}
            for model in only:
                self._pending_of.pop(model, None)
                self._tables.pop(model, None)
            self._pattern = None
        groups: dict[tuple[type[Model], bool], list[tuple[Model, Model]]] = {}
        for snapshot, ignore, obj in rows:
            groups.setdefault((type(snapshot), ignore), []).append((snapshot, obj))
        self._flushing = True
        try:
            for (model, ignore), pairs in groups.items():
                model._default_manager.bulk_create([snapshot for snapshot, _ in pairs], ignore_conflicts=ignore)
                auto = [f.attname for f in _auto_fields(model)]
                for snapshot, obj in pairs:  # the stamps bulk_create gave the row, on the row in hand too
                    for name in auto:
                        setattr(obj, name, getattr(snapshot, name))
            for model, changes in updates.items():
                by_fields: dict[tuple[str, ...], list[Model]] = {}
                for obj, fields in changes.values():
                    copy = model(pk=obj.pk, **fields)  # the values as they were set, whatever obj holds now
                    by_fields.setdefault(tuple(sorted(fields)), []).append(copy)
                for names, objs in by_fields.items():
                    model._default_manager.bulk_update(objs, list(names))
        finally:
            self._flushing = False


@functools.cache
def _auto_fields(model: type[Model]) -> tuple[Any, ...]:
    """The ``auto_now``/``auto_now_add`` fields of a model."""
    return tuple(
        f for f in model._meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    )


def _stamp(obj: Model) -> None:
    """Fill ``auto_now``/``auto_now_add`` fields now, as ``save`` would, so the row in hand has its values."""
    for field in _auto_fields(type(obj)):
        setattr(obj, field.attname, field.pre_save(obj, add=True))


def _snapshot(obj: M) -> M:
    """A copy of ``obj`` as it is now: the row a deferred insert writes.

    Made by hand (``copy.copy`` goes through pickling's ``__reduce_ex__``, several times slower): the
    field values, JSON structures copied deeply, and its own ``_state`` with its own related-object cache.
    """
    clone = object.__new__(type(obj))
    values = obj.__dict__.copy()
    for name, value in values.items():
        if isinstance(value, (dict, list)) and not name.startswith("_"):
            values[name] = copy.deepcopy(value)
    state = copy.copy(obj._state)
    state.fields_cache = dict(obj._state.fields_cache)
    values["_state"] = state
    clone.__dict__ = values
    return clone


def _insert_now(obj: Model, *, ignore_conflicts: bool = False) -> None:
    if ignore_conflicts:
        type(obj)._default_manager.bulk_create([obj], ignore_conflicts=True)
    else:
        obj.save(force_insert=True)


def _savepoints() -> int:
    """Savepoints open on the connection (an atomic block without one, ``savepoint=False``, counts as None)."""
    return sum(1 for sid in connection.savepoint_ids if sid is not None)


_current: ContextVar[UnitOfWork | None] = ContextVar("radicado_unit_of_work", default=None)


def current() -> UnitOfWork | None:
    return _current.get()


@contextlib.contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Open a unit of work inside an atomic block; its rows are written when the block ends well.

    Leaving with an exception discards the pending rows (the caller's transaction rolls back).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("a unit of work runs inside transaction.atomic()")
    if _current.get() is not None:
        raise RuntimeError("units of work do not nest")
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        with connection.execute_wrapper(uow.before_statement):
            yield uow
            if uow.broken:
                raise SavepointWrite(f"the unit of work was {uow.broken}; its work must be done again")
            uow.flush()
        for run_now in uow._before_commit:
            run_now()
        uow.flush()  # what those wrote through the unit of work
        for run, items in uow._after_commit.values():  # outside any savepoint: they follow the transaction
            transaction.on_commit(functools.partial(run, items))
    finally:
        _current.reset(token)


def memoised(key: Any, load: Callable[[], T]) -> T:
    """``load()``, read once per unit of work under ``key`` (configuration rows, and rows a batch reads or makes
    once and does not change, such as the floating customer)."""
    uow = _current.get()
    return load() if uow is None else uow.read(key, load)


def insert(obj: M, *, ignore_conflicts: bool = False) -> M:
    """Insert a new row: now, or (in a unit of work) with its id now and its row at the flush.

    Rows with ``ignore_conflicts`` (one INSERT … ON CONFLICT DO NOTHING) may not get an id.
    """
    uow = _current.get()
    if uow is None:
        _insert_now(obj, ignore_conflicts=ignore_conflicts)
    else:
        uow.add(obj, ignore_conflicts=ignore_conflicts)
    return obj


def update(obj: M, **fields: Any) -> M:
    """Set ``fields`` on ``obj`` and write them to its row: now, or in one UPDATE per model at the flush."""
    uow = _current.get()
    if uow is None:
        for name, value in fields.items():
            setattr(obj, name, value)
        type(obj)._default_manager.filter(pk=obj.pk).update(**fields)
    else:
        uow.update(obj, fields)
    return obj


def _take_ids(model: type[Model], count: int) -> list[int]:
    """``count`` fresh primary keys of ``model``'s table, taken from its sequence as an insert would."""
    qn = connection.ops.quote_name
    table, pk = model._meta.db_table, str(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [qn(table), pk, count]
            )
            return [int(row[0]) for row in cursor.fetchall()]
        if connection.vendor == "sqlite":
            # AUTOINCREMENT keeps the highest id ever used in sqlite_sequence; raising it reserves ids
            # (and takes the write lock). A table that never had a row has no entry yet.
            sql = "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq"
            cursor.execute(sql, [count, table])
            row = cursor.fetchone()
            if row is None:
                cursor.execute(
                    f"INSERT INTO sqlite_sequence (name, seq) SELECT %s, COALESCE(MAX({qn(pk)}), 0) FROM {qn(table)}",  # noqa: S608 (names from the model)
                    [table],
                )
                cursor.execute(sql, [count, table])
                row = cursor.fetchone()
            last = int(row[0])
            return list(range(last - count + 1, last + 1))
    raise NotImplementedError(f"no id reservation for {connection.vendor}")
