"""Model backends behind one small interface: the embedded model and OpenAI-compatible upstreams."""
