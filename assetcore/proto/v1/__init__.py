"""Generated stubs: run scripts/gen_protos.py, never edit."""
