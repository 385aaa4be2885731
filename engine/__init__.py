"""The real-time core: clocks, transport (musical time), scheduler and output thread,
humanize, ports and routing, the performer (bar loop) and the recorder."""
