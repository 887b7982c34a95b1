"""`CHEAP_XLA_FLAGS`: the XLA:CPU flags the suite compiles its tiny programs with.

Set by tests/conftest.py for the whole run (when the user set no
`XLA_FLAGS`) and passed by tests/training/test_distribute.py to its worker
processes, which start from a cleaned environment. Why each flag and what
it saves: see tests/conftest.py.
"""

CHEAP_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
