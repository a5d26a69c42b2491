"""sscard conformance: replay test vectors against any card and give certification-style verdicts."""
