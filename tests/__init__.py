"""The test suite, in folders that mirror the package; packages so that same-named test files in
different folders stay distinct modules and the helpers import as ``tests.<folder>.<module>``."""
