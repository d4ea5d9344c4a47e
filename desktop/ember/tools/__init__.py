"""Tools the model may call: built-ins and MCP servers' tools, behind one approval step.

Core: no Qt, no CLI. ``types`` holds the shapes every part shares.
"""
