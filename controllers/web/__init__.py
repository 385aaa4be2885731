"""The control page: a tablet's browser steers the set over HTTP and a WebSocket, with the
same commands and feedback as OSC (``controllers.osc_addresses``). See docs/web.md."""
