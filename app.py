"""Latent Lab: one Gradio Blocks app. This file is the entry point: it builds the tabs (one module
each under ui/: tab_drag, tab_latent, tab_invert, tab_dcgan, tab_adapt) and launches the server.
Engines live in draggan/, freedrag/ and stabledrag/ (their table: drags/engines.py) on dragcore/
(settings: dragcore/config.py); models in checkpoints/; the map: docs/architecture.md.

    python app.py [--model ID_OR_PATH] [--share] [--server-name 0.0.0.0] [--server-port 7860]

Every endpoint has a name and named parameters for gradio_client: see docs/api.md. Until Gradio and
torch are imported (seconds), the port shows the model's first image (ui/splash.py): this module
imports them lazily, in `build` and `launch`, so that page is up within a blink of the start.
"""
import argparse
import os
import sys
import time

from ui import splash   # the standard library only: the first face is served before Gradio and torch load


def build():
    import gradio as gr

    from drags.engines import ENGINES
    from ui import gradio_cache
    from ui import guard as ug
    from ui import mask, run_control, tab_adapt, tab_dcgan, tab_drag, tab_invert, tab_latent, warmup
    from ui.drag_image import new_image
    from ui.state import DragState
    gradio_cache.install()   # an image returned twice is renamed into place, not rewritten while it is downloaded
    # uploads (photos, edits, models) older than a day are deleted every hour
    with gr.Blocks(title="Latent Lab", delete_cache=(3600, 86400)) as demo:
        names = ", ".join(f"**{e.label}**" for e in ENGINES.values())
        gr.Markdown(f"# Latent Lab\nDrag GAN images with {names}, side by side. "
                    "Click a handle point, then its target; optionally paint the editable region; drag.")
        state, uploads = gr.State(DragState()), gr.State(None)   # per session: drag state; the uploaded model
        with gr.Tabs() as tabs:
            with gr.Tab("Drag", id="drag"):
                drag_outputs, start_inputs, show_chain = tab_drag.build(state, uploads)
            with gr.Tab("Latent space") as latent_tab:
                latent_model = tab_latent.build(uploads, latent_tab)
            with gr.Tab("Inversion"):
                tab_invert.build(uploads, state, drag_outputs, show_chain, tabs)
            with gr.Tab("DCGAN"):
                tab_dcgan.build()
            with gr.Tab("Adapt"):
                tab_adapt.build(uploads, (start_inputs, drag_outputs, show_chain), latent_model, tabs)
        # the first image, as soon as the page opens (the API has /new_image for it)
        first = demo.load(new_image, start_inputs, drag_outputs, api_visibility="undocumented",
                          **mask.untracked(drag_outputs))
        # then, in the background, what the first drag would pay for once (ui/warmup.py)
        first.then(warmup.start_event, None, None, queue=False, api_visibility="undocumented")
        # a closed tab: its run stopped, its state (tuned generators, results) freed now (ui/run_control.py)
        demo.unload(run_control.session_closed)
    demo.queue(default_concurrency_limit=2)
    return ug.guard_all(demo)   # every handler, of every tab, through the error helper (ui.guard)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Latent Lab: explore GAN latents, drag with DragGAN, FreeDrag and "
                                 "StableDrag-GAN side by side.")
    ap.add_argument("--model", default=None, help="registry id or path to a .pkl/.safetensors (default: "
                    "$LATENTLAB_DEFAULT_MODEL, else the bundled offline model)")
    ap.add_argument("--share", action="store_true", help="create a public gradio.live link")
    # a Hugging Face Space runs `python app.py` with GRADIO_SERVER_NAME=0.0.0.0 and GRADIO_SERVER_PORT=7860
    ap.add_argument("--server-name", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                    help="default: $GRADIO_SERVER_NAME, else 127.0.0.1")
    ap.add_argument("--server-port", type=int, default=None, help="default: $GRADIO_SERVER_PORT, else the first "
                    "free port from 7860")
    args = ap.parse_args(argv)
    if args.server_port is None and os.environ.get("GRADIO_SERVER_PORT", "").strip():
        try:
            args.server_port = int(os.environ["GRADIO_SERVER_PORT"])
        except ValueError:
            ap.error(f"GRADIO_SERVER_PORT={os.environ['GRADIO_SERVER_PORT'][:20]!r} is not a port number")
        if not 1 <= args.server_port <= 65535:
            ap.error(f"GRADIO_SERVER_PORT={args.server_port} is not a port number (1-65535)")
    elif args.server_port is not None and not 1 <= args.server_port <= 65535:
        ap.error(f"--server-port {args.server_port} is not a port number (1-65535)")
    return args


def check_environment():
    """The operator's environment variables, checked at start (LimitError naming the variable):
    every number of limits.SETTINGS, and the folders the app reads or writes."""
    import limits
    limits.check_settings()
    presets = os.environ.get("LATENTLAB_PRESETS_DIR")
    if presets and not os.path.isdir(presets):
        raise limits.LimitError(f"LATENTLAB_PRESETS_DIR {limits.short(presets)} is not a folder")
    for name in ("LATENTLAB_CACHE", "GRADIO_TEMP_DIR"):
        if os.environ.get(name):
            limits.check_out_dir(os.environ[name], name)


def main(argv=None):
    """`python app.py`: the splash (ui.splash) on the app's port first, then the lab replaces it."""
    args = parse_args(argv)
    try:
        face = splash.start(args.server_name, args.server_port, splash.model_named(args.model))
    except splash.ListenError as e:   # said at once, before anything is imported or loaded
        print(f"error: {e}", file=sys.stderr)
        return 2
    if face is not None:
        args.server_port = face.port   # Gradio binds where the splash was
        print(f"Latent Lab is starting at http://{args.server_name}:{face.port}/ (the page turns into the app "
              "when it is ready)", flush=True)
    try:
        return launch(args, face)
    except KeyboardInterrupt:   # Ctrl-C while the lab loads: the splash goes, no traceback
        disk = sys.modules.get("ui.disk")   # SIGTERM (ui.disk.on_sigterm), even before Gradio serves: a clean stop
        return 0 if disk is not None and disk.TERMINATED.is_set() else 130
    finally:
        if face is not None:
            face.close()


def launch(args, face=None):
    """Check the settings, load the model, build and launch (`face`, the splash, closed right before)."""
    import checkpoints
    import limits
    from ui import disk, scratch, sessions
    from ui import guard as ug
    from ui.context import DEFAULT, STORE
    try:
        check_environment()   # operator environment variables: one line naming the bad one
    except limits.LimitError as e:
        print(f"error: {ug.message(e)}", file=sys.stderr)
        return 2
    named = "--model" if args.model else checkpoints.DEFAULT_ENV
    try:
        args.model = args.model or checkpoints.default_model()
    except ValueError as e:
        print(f"error: {ug.message(e)}", file=sys.stderr)
        return 2
    DEFAULT["model"] = args.model
    STORE.trust(args.model)   # the operator's file is a choice; users can only pick or upload
    t0 = time.perf_counter()
    try:
        checkpoints.resolve(args.model)   # a Hub model: downloaded now, bounded by hubguard
        STORE.pin(args.model)  # warm and kept: the first image is one generator pass away, for everyone
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {named} {args.model}: {ug.message(e)}", file=sys.stderr)
        return 2
    scratch.clean_on_exit()   # the app's temporary folder (exports) goes with the process, SIGTERM too
    disk.on_sigterm(scratch.remove)   # SIGTERM ends the app as Ctrl-C does: Gradio's copies go too (ui.disk)
    print(f"model {args.model} ready in {time.perf_counter() - t0:.1f}s", flush=True)
    try:
        disk.use_own_folder()   # Gradio's files of this process in one folder: capped, removed at exit (ui.disk)
    except OSError as e:
        print(f"error: Gradio's folder (GRADIO_TEMP_DIR) cannot be made: {ug.message(e)}", file=sys.stderr)
        return 2
    demo = build()
    disk.Uploads.blocks = ug.KnownEvents.blocks = demo
    sessions.start(demo)      # sessions without a heartbeat are given back once idle (ui.sessions)
    from starlette.middleware import Middleware
    # ASGI middleware (a public hook of launch): heartbeats seen, the upload cap, unknown fn_index
    middleware = [Middleware(m) for m in (sessions.Heartbeats, disk.Uploads, ug.KnownEvents)]
    if face is not None:
        face.close()   # the port released for Gradio: the page polls through the moment nobody answers
    try:
        demo.launch(server_name=args.server_name, server_port=args.server_port, share=args.share,
                    max_file_size=limits.SIZES["model_upload_bytes"], app_kwargs=dict(middleware=middleware),
                    prevent_thread_lock=True)
    except OSError as e:   # an address Gradio cannot serve on either, or a port taken since the splash let it go
        where = f"{args.server_name}:{args.server_port}" if args.server_port else args.server_name
        print(f"error: cannot serve on {where}: {ug.message(e)} (choose with --server-name and --server-port)",
              file=sys.stderr)
        return 2
    serve(demo)


def serve(demo):
    """Serve until Ctrl-C or SIGTERM, then close the Blocks: its queue, the pages' heartbeats and the
    server. (Gradio's own wait closes only the server, which then waits for every open page's
    stream: 5 s, and the process ended with the server's thread still running.)"""
    try:
        while demo.is_running:
            time.sleep(0.1)
    except KeyboardInterrupt:
        print("Stopping: closing the server.", flush=True)
    finally:
        demo.close(verbose=False)


if __name__ == "__main__":
    sys.exit(main())
