"""Image panels with their caption above the picture. Gradio draws an image component's own label
over the top-left corner of the picture, so these hide it (`show_label=False`; the label still
names the component in the API listing and in error messages) and put a Markdown caption above."""
import gradio as gr


def captioned(make, caption, **kwargs):
    """(caption Markdown, component): `make(**kwargs)` with its label hidden, under `caption`."""
    md = gr.Markdown(caption, elem_classes="panel-caption")
    return md, make(show_label=False, **kwargs)
