"""Matching exec events against exec rules: program names, command patterns,
wrappers followed, shell strings read, and named conditions.

Pure: no syscalls, nothing from the supervisor, the native helper or the TUI.
The policy that combines matches into a verdict is jail/exec_policy.py.
"""
