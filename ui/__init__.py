"""The app's user interface, one module per concern.

- Tabs (layout and wiring, Gradio): tab_drag, tab_latent, tab_invert, tab_dcgan; their handlers:
  drag_image (model and start image), drag_handlers (drags, Stop, export, replay), drag_chain (undo,
  reset, continue); panels (captioned images); guard (every handler's errors and every input's
  checks); run_control (one run per session, Stop, the queue).
- Framework-free and unit-tested: state (the per-session chain of drags), drag_stream (drags as a
  stream of frames, the results tables), drag_settings (the settings fields from dragcore.config),
  export (edit JSON, GIF/MP4, latents), draw, mask, models, scratch, context, warmup (a first
  drag's one-time costs, paid in the background after the first image), splash (the standard library
  only: the first face on the app's port while Gradio and torch load).
`app.py` builds the tabs and launches the server. See docs/architecture.md."""
