"""A single self-contained HTML report: headings, paragraphs, tables and matplotlib figures
embedded as base64 PNG, so the file opens in any browser with nothing beside it."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Sequence

from phylo_vi.util.atomic import atomic_write

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 72em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .meta { color: #666; font-size: 0.85em; }
"""


def png_bytes(figure, tight: bool = True) -> bytes:
    """``figure`` drawn as PNG (110 dpi), then closed; ``tight`` crops it to its content."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight" if tight else None)
    plt.close(figure)
    return buffer.getvalue()


class HtmlReport:
    """Collect sections, then :meth:`write` them atomically as one HTML file."""

    def __init__(self, title: str):
        self.title = title
        self._parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self._parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css_class: str | None = None) -> None:
        attribute = f' class="{css_class}"' if css_class else ""
        self._parts.append(f"<p{attribute}>{html.escape(text)}</p>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], float_format: str = "{:.6g}") -> None:
        def cell(value: Any) -> str:
            return html.escape(float_format.format(value) if isinstance(value, float) else str(value))

        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
        self._parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, figure, caption: str | None = None, tight: bool = True) -> None:
        """Embed a matplotlib figure as a PNG data URI, then close it; ``tight`` crops it to its content (one
        more drawing of the figure), otherwise it is saved at its full size."""
        self.image(png_bytes(figure, tight), caption)

    def image(self, png: bytes, caption: str | None = None) -> None:
        """Embed a PNG image (bytes) as a data URI."""
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption or "figure")
        text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{text}</figure>')

    def render(self) -> str:
        body = "\n".join(self._parts)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>\n"
                f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n")

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_write(path) as handle:
            handle.write(self.render())
        return path
