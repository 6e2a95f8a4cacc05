"""The redaction engine: a face detector on onnxruntime, tracking, PyAV decode and encode."""
