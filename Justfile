# jail's recipes; `just` lists them.

default:
    @just --list

# install jail in editable mode with the test and lint tools
install:
    pip install -e '.[dev]'

# the whole test suite (the README's command)
test:
    python -m pytest -q

# pure tests only: policy, profiles, audit (milliseconds each)
unit:
    python -m pytest -q -m unit

# real processes under the real filter on this kernel
real:
    python -m pytest -q -m real

# bare vs jail vs bubblewrap on agent-like workloads, ratios printed
bench *ARGS:
    python benchmarks/run.py {{ARGS}}

lint:
    ruff check jail tests benchmarks native/build.py

# what jail relies on in this kernel, and the fallback in use
doctor:
    python -m jail doctor

# the Textual approval screens, driven by Pilot
tui:
    python -m pytest -q -m tui
