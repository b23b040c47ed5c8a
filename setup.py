"""Build glue: compile the native helper with cffi and ship the built-in profiles."""

from setuptools import setup

setup(
    cffi_modules=["native/build.py:ffibuilder"],
    package_dir={"jail": "jail", "jail.builtin_profiles": "profiles"},
    package_data={"jail.builtin_profiles": ["*.toml"]},
)
