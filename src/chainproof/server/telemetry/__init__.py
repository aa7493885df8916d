"""What the control plane and the CAS service tell their operators: Prometheus metrics
(:mod:`.metrics`), JSON or text logs with a request id (:mod:`.logs`, :mod:`.requests`) and
the readiness probe (:mod:`.readiness`). docs/operations.md describes them for operators."""
