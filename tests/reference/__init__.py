"""The reference values of tests/test_reference_values.py: the deterministic inputs both sides share (`common`) and
the script that computes the values with the reference code (`make_reference_values`)."""
