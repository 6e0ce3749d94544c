"""The demo's real models and the local provider's Triton (`manage.py run_provider`, the test fixture).

- `training`: trains scikit-learn models on the datasets scikit-learn ships (digits, iris), exports
  them to ONNX with skl2onnx and caches the files under `.demo/models/` (no download, ever).
- `serving`: the inference callables (onnxruntime, vaderSentiment) and a real Triton Inference
  Server started through nvidia-pytriton that serves them with the tensor specs the demo listings
  declare (`marketplace.hosted_demo`).
- `server`: `python -m compute.demo_models.server` runs that Triton without Django (the pytest
  session fixture starts it in a subprocess).
"""
