"""Speed and memory scripts, each run as ``python benchmarks/<script>.py``; a package only so that the
browser tests can import ``benchmarks.browser_utils``. Benchmarks import nothing from ``tests/``."""
