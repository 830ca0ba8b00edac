"""P4Runtime v1 service of pybm-switch (the counterpart of simple_switch_grpc's).

The engine never imports this package: the service drives the engine through
its runtime API (pybm.switch.engine.Switch) and the ``digest_sink`` hook.
"""
