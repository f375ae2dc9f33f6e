"""End-to-end tests of tlstap: fixtures (core, tracer, capture, peers, nginx) and one suite_* module per subject."""
