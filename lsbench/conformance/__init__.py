"""Conformance packs: prove lsbench's ports equal to the official code (see ``lsbench conformance``)."""
