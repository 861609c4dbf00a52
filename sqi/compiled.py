"""Querysets compiled to SQL once, run many times with one value filled in.

Building a queryset and compiling it costs more CPU than PostgreSQL spends answering a
primary-key lookup; on the hot paths of every API write (the token's user, intake's handling
unit) the same statement is built on every request with only one value changed. A
:class:`CompiledQuery` compiles it once per database and per process, then runs the SQL with
that value, passes the row through the ORM's own converters and builds the same model
instances the queryset would (the main object, and one level of ``select_related``).
"""

from django.db import connection


class CompiledQuery:
    """``build(slot)`` returns the queryset with ``slot`` where the value goes; ``slot`` must
    be a value of the right type that appears exactly once in the compiled parameters."""

    def __init__(self, build, slot):
        self.build, self.slot = build, slot
        self._compiled: dict[str, tuple] = {}

    def compiled(self):
        """(sql, params, slot index, compiler, converters) for the current database."""
        compiled = self._compiled.get(connection.alias)
        if compiled is None:
            compiler = self.build(self.slot).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            params = list(params)
            if params.count(self.slot) != 1:
                raise ValueError(f"the slot {self.slot!r} must appear once in {params!r}")
            columns = [column for column, _sql, _alias in compiler.select]
            converters = compiler.get_converters(columns)
            compiled = (sql, params, params.index(self.slot), compiler, converters)
            self._compiled[connection.alias] = compiled
        return compiled

    def first(self, value):
        """The first object the queryset gives for ``value`` (its ``select_related`` objects
        attached) and the row's annotations by name; (None, {}) if there is none."""
        sql, params, slot, compiler, converters = self.compiled()
        params = [*params]
        params[slot] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None, {}
        row = list(row)
        if converters:
            row = list(next(iter(compiler.apply_converters([row], converters))))
        klass = compiler.klass_info
        obj = _instance(compiler, klass, row)
        for related in klass["related_klass_infos"]:
            other = _instance(compiler, related, row)
            setattr(obj, related["field"].name, other if other.pk is not None else None)
        annotations = {name: row[i] for name, i in compiler.annotation_col_map.items()}
        return obj, annotations


def _instance(compiler, klass_info, row):
    fields = klass_info["select_fields"]
    names = [compiler.select[i][0].target.attname for i in fields]
    return klass_info["model"].from_db(connection.alias, names, [row[i] for i in fields])
