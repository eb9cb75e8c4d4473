"""Every record kind of a run's journal, declared once as a frozen, documented type.

A journal line is ``{"ts", "t", "kind", "phase", ...fields}``; :func:`parse_record`
turns it back into its type, :meth:`Record.to_json` writes it. Writers build records
(``FaultInjected(fault=..., ...)``) and hand them to ``Journal.emit``, which stamps
``ts``, ``t`` and ``phase``; readers test types (``isinstance(r, FaultInjected)``), never
strings. A kind this version does not know is read as :class:`UnknownRecord`, so
journals of newer or older harnesses stay readable; a known kind missing a required
field is a :class:`TimelineError` naming the kind and the field.

Times: ``ts`` fields are wall-clock epoch seconds, ``*_s`` fields are durations.
"""

from harness.timeline.records.base import (Phase, Record, TimelineError, UnknownRecord, kind, parse_record,
                                           record_types)
from harness.timeline.records.run import RunStarted, RunFinished, BaselineChosen, PhaseStarted, SignalReceived
from harness.timeline.records.pipeline import (PipelineStarting, EnvOverridden, PipelineUp, PipelineDown,
                                              SetupStarted)
from harness.timeline.records.proxy import (ProxyServerStarted, ProxyServerFound, ProxyServerStopped,
                                            ProxyServerDied, ProxyCreated, ProxiesDeleted)
from harness.timeline.records.services import (ServiceRecord, ServiceStarted, ServiceHealthy, ServiceKilled,
                                               ServiceExited, ServiceDied, ServiceRestarting,
                                               ServiceRestarted, ServicePaused, ServiceResumed,
                                               ServiceStopped, ServicePartitioned, ServiceReconnected)
from harness.timeline.records.load import (LoadLaunched, LoadStarted, LoadStopped, GoldenStarted, GoldenStopped,
                                           MetricsStarted, MetricsStopped)
from harness.timeline.records.faults import (FaultRecord, FaultInjecting, FaultInjected, FaultReverted,
                                             FaultStacked, FaultReleased, RowsCorrupted, SchemaChanged,
                                             ArtifactSwapping, ArtifactSwapped, ArtifactRestored)
from harness.timeline.records.stores import StoreSnapshotting, StoreReplayed, StoreRestored, CleanedUp
from harness.timeline.records.people import ConditionHeld, RunbookStepTriggered, RunbookStepDone, OperatorNote

__all__ = ['ArtifactRestored', 'ArtifactSwapped', 'ArtifactSwapping', 'BaselineChosen', 'CleanedUp',
           'ConditionHeld', 'EnvOverridden', 'FaultInjected', 'FaultInjecting', 'FaultRecord', 'FaultReleased',
           'FaultReverted', 'FaultStacked', 'GoldenStarted', 'GoldenStopped', 'LoadLaunched', 'LoadStarted',
           'LoadStopped', 'MetricsStarted', 'MetricsStopped', 'OperatorNote', 'Phase', 'PhaseStarted', 'PipelineDown', 'PipelineStarting',
           'PipelineUp', 'ProxiesDeleted', 'ProxyCreated', 'ProxyServerDied', 'ProxyServerFound',
           'ProxyServerStarted', 'ProxyServerStopped', 'Record', 'RowsCorrupted', 'RunFinished', 'RunStarted',
           'RunbookStepDone', 'RunbookStepTriggered', 'SchemaChanged', 'ServiceDied', 'ServiceExited',
           'ServiceHealthy', 'ServiceKilled', 'ServicePartitioned', 'ServicePaused', 'ServiceReconnected',
           'ServiceRecord', 'ServiceRestarted', 'ServiceRestarting', 'ServiceResumed', 'ServiceStarted',
           'ServiceStopped', 'SetupStarted', 'SignalReceived', 'StoreReplayed', 'StoreRestored',
           'StoreSnapshotting', 'TimelineError', 'UnknownRecord', 'kind', 'parse_record', 'record_types']
