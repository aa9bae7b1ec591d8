"""gpt-rs interop in one place: its dataset files, checkpoint tensor names and config fields."""
