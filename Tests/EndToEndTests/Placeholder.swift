// Placeholder until this module has tests.
