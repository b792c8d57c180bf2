"""Scripts the tests run in a child process (`python -m tests.scripts.NAME ARGS` from the
project's folder): settings read afresh, threads, memory peaks and file locks of their own.
Each prints one JSON object last, which the test reads."""
