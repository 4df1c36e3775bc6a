"""Host steps: ``shell`` and ``http`` steps run as a DAG with timeouts, retries and rollback.

Contracts: a shell step is executed directly (no shell), in a private copy of the bundle, with a
minimal environment plus declared connector tokens, in its own process group that is SIGKILLed
when the step ends, times out or the cast is canceled.
"""

from spell.runtimes.host.engine import EngineResult, EngineSettings, StepEngine
from spell.runtimes.host.process import ProcessLimits
from spell.runtimes.host.runtime import HostRuntime

__all__ = ["EngineResult", "EngineSettings", "HostRuntime", "ProcessLimits", "StepEngine"]
