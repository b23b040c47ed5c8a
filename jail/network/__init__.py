"""Network rules: destinations as people write them (rules.py), the pure
decision (policy.py), and jail's HTTP proxy that decides by host name (proxy.py)."""
