"""django-simple-history's ``HistoricalRecords``, with a history manager that costs nothing
to reach.

Upstream's descriptor builds a new manager *class* (``from_queryset``, which copies every
queryset method) on each access of ``instance.history``, and saving a tracked object
reaches it once to find the historical model: a tenth of a millisecond and more on every
audited write, intake included. This descriptor builds that class once and hands out
instances of it, which behave the same (one manager per access, bound to the instance).
"""

from simple_history import models as history_models
from simple_history.manager import HistoryDescriptor


class _HistoryDescriptor(HistoryDescriptor):
    def __get__(self, instance, owner):
        manager_class = self.__dict__.get("_manager_class")
        if manager_class is None:
            manager_class = self.manager_class.from_queryset(self.queryset_class)
            self._manager_class = manager_class
        return manager_class(self.model, instance)


class HistoricalRecords(history_models.HistoricalRecords):
    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _HistoryDescriptor(
                    descriptor.model,
                    manager=descriptor.manager_class,
                    queryset=descriptor.queryset_class,
                ),
            )
