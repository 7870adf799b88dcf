"""One module per client family; each offers a function per case kind it supports.

A function takes `(spec, meter)`, warms up, brackets its measured section with
`meter.start()` / `meter.stop()`, and returns None (the meter's figures are used)
or, for clients measured from outside (the Java tools), the figures themselves.
"""
