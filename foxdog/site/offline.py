"""Showing Altair charts offline: the Vega/Vega-Lite/Vega-Embed scripts embedded in the page.

vl-convert-python ships the JavaScript; it is embedded once per page, so the site
works without a network.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import altair as alt

# Vega-Embed's menu: keep "save as SVG/PNG", drop the links to the online editor.
EMBED_OPTIONS = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}


RENDERER_NAME = "foxdog-offline"


def _vl_version() -> str:
    """The Vega-Lite version Altair writes, in vl-convert's spelling (``v6_4``)."""
    major, minor = alt.SCHEMA_VERSION.lstrip("v").split(".")[:2]
    return f"v{major}_{minor}"


def vega_bundle_html() -> str:
    """A ``<script>`` holding Vega, Vega-Lite and Vega-Embed (from vl-convert-python)."""
    import vl_convert as vlc

    bundle = vlc.javascript_bundle(vl_version=_vl_version())
    # A literal "</script" would end the element early; "<\/" means the same to JS.
    bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    return f'<script type="text/javascript">\n{bundle}\n</script>'


def _script_json(obj: Any) -> str:
    """JSON safe inside ``<script>``: no ``</script>``, ``<!--`` or ``&`` can appear."""
    text = json.dumps(obj, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def spec_html(spec: dict[str, Any], *, include_bundle: bool, div_id: str | None = None) -> str:
    """HTML showing a Vega-Lite ``spec``: a div and a script calling ``vegaEmbed``.

    Set ``include_bundle`` for the first chart of a page. The script runs in its
    own function scope, so several charts on one page do not clash (Altair's
    ``inline`` template declares a global ``const spec`` per chart, which does).
    """
    payload = _script_json(spec)
    if div_id is None:
        div_id = "fd-chart-" + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:12]
    parts = [vega_bundle_html()] if include_bundle else []
    parts.append(
        f'<div class="fd-chart" id="{div_id}"></div>\n'
        '<script type="text/javascript">\n'
        "(function () {\n"
        f"  var spec = {payload};\n"
        f"  var opts = {_script_json(EMBED_OPTIONS)};\n"
        f'  vegaEmbed("#{div_id}", spec, opts).catch(function (err) {{ console.error(err); }});\n'
        "})();\n"
        "</script>"
    )
    return "\n".join(parts)


def chart_html(chart: alt.TopLevelMixin, *, include_bundle: bool = True) -> str:
    """HTML for one chart (see :func:`spec_html`); validates the chart first."""
    return spec_html(chart.to_dict(), include_bundle=include_bundle)


class _OfflineRenderer:
    """Altair renderer: the first chart of a kernel carries the JS bundle, later ones don't."""

    def __init__(self) -> None:
        self.bundled = False
        self.count = 0

    def __call__(self, spec: dict[str, Any], **_metadata: Any) -> dict[str, str]:
        self.count += 1
        digest = hashlib.sha1(_script_json(spec).encode("utf-8")).hexdigest()[:8]
        html = spec_html(
            spec, include_bundle=not self.bundled, div_id=f"fd-chart-{self.count}-{digest}"
        )
        self.bundled = True
        return {"text/html": html}


def enable_offline_renderer() -> None:
    """Make Altair charts display as self-contained HTML (call once per page/kernel)."""
    alt.renderers.register(RENDERER_NAME, _OfflineRenderer())
    alt.renderers.enable(RENDERER_NAME)
