"""Report writers (JSON, JUnit, HTML, apdu4j trace) and the readers that reopen their output."""
