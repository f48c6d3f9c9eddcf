"""Order API infrastructure: configuration, stacks and components."""

import os

# Set before anything imports cdktf (whose import starts the jsii runtime): on
# Node 20 the runtime prints an end-of-life banner that buries real output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
