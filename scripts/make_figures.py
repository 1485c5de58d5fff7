"""Makes the LLM Primer's figures (SVG) beside the chapters that show them: `python scripts/make_figures.py`.

Kept outside content/, where every file is published.

Standard library only, deterministic (no clock, no randomness without a seed): running it again gives the same
bytes, so the committed figures are exactly what this script makes. Each SVG follows the page's light or dark
colours through its own prefers-color-scheme styles, and carries its size in its viewBox.
"""

from __future__ import annotations

import math
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "content"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
STYLE = f"""<style>
  svg {{ --fg: #1c1e21; --muted: #4f5661; --rule: #d8dbe0; --a: #0b57b7; --b: #c2410c; --c: #1a7f37; --bg: #ffffff; }}
  @media (prefers-color-scheme: dark) {{
    svg {{ --fg: #e4e6ea; --muted: #a9b0bb; --rule: #353a42; --a: #8cb8ff; --b: #ffb86b; --c: #6fd08c; --bg: #15171b; }}
  }}
  text {{ font-family: {FONT}; font-size: 13px; fill: var(--fg); }}
  .muted {{ fill: var(--muted); }}
  .axis {{ stroke: var(--muted); stroke-width: 1; }}
  .grid {{ stroke: var(--rule); stroke-width: 1; }}
</style>"""


def svg(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">',
            f"<title>{title}</title>",
            STYLE,
            *body,
            "</svg>",
            "",
        ]
    )


def softmax(scores: list[float], temperature: float = 1.0) -> list[float]:
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


class Plot:
    """A line plot in data coordinates: axes with ticks, then curves."""

    def __init__(self, width: int, height: int, x: tuple[float, float], y: tuple[float, float], log: bool = False):
        self.width, self.height, self.x, self.y, self.log = width, height, x, y, log
        self.left, self.right, self.top, self.bottom = 64, width - 24, 20, height - 48
        self.parts: list[str] = []

    def px(self, x: float, y: float) -> tuple[float, float]:
        if self.log:
            x, y = math.log10(x), math.log10(y)
        (x0, x1), (y0, y1) = self.x, self.y
        return (
            self.left + (x - x0) / (x1 - x0) * (self.right - self.left),
            self.bottom - (y - y0) / (y1 - y0) * (self.bottom - self.top),
        )

    def axes(self, xticks: list[tuple[float, str]], yticks: list[tuple[float, str]], xlabel: str, ylabel: str) -> None:
        for value, label in yticks:
            _, y = self.px(self.x[0] if not self.log else 10 ** self.x[0], value)
            self.parts.append(f'<line class="grid" x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}"/>')
            self.parts.append(f'<text class="muted" x="{self.left - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        for value, label in xticks:
            x, _ = self.px(value, self.y[0] if not self.log else 10 ** self.y[0])
            self.parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{self.bottom}" y2="{self.bottom + 5}"/>')
            self.parts.append(f'<text class="muted" x="{x:.1f}" y="{self.bottom + 20}" text-anchor="middle">{label}</text>')
        self.parts.append(
            f'<line class="axis" x1="{self.left}" x2="{self.right}" y1="{self.bottom}" y2="{self.bottom}"/>'
            f'<line class="axis" x1="{self.left}" x2="{self.left}" y1="{self.top}" y2="{self.bottom}"/>'
        )
        middle = (self.left + self.right) / 2
        self.parts.append(f'<text x="{middle:.1f}" y="{self.height - 8}" text-anchor="middle">{xlabel}</text>')
        self.parts.append(
            f'<text x="16" y="{(self.top + self.bottom) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 16 {(self.top + self.bottom) / 2:.1f})">{ylabel}</text>'
        )

    def curve(self, points: list[tuple[float, float]], colour: str, label: str, dash: str = "") -> None:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (self.px(a, b) for a, b in points))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="var({colour})" stroke-width="2.5"{dashed}/>')
        self.legend.append((colour, label, dash))

    legend: list[tuple[str, str, str]]

    def render(self, title: str) -> str:
        rows = []
        for index, (colour, label, dash) in enumerate(getattr(self, "legend", [])):
            y = self.top + 12 + index * 20
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            rows.append(
                f'<line x1="{self.right - 150}" x2="{self.right - 122}" y1="{y}" y2="{y}" stroke="var({colour})" '
                f'stroke-width="2.5"{dashed}/><text x="{self.right - 114}" y="{y + 4}">{label}</text>'
            )
        return svg(self.width, self.height, title, [*self.parts, *rows])


def softmax_temperature() -> str:
    """The same five logits through softmax at three temperatures: bars per token."""
    logits = [3.0, 2.0, 1.0, 0.5, -1.0]
    tokens = ["the", "a", "this", "one", "my"]
    temperatures = [(0.5, "--a"), (1.0, "--c"), (2.0, "--b")]
    width, height, left, bottom, top = 640, 300, 64, 252, 20
    parts = []
    for value in (0, 0.25, 0.5, 0.75, 1.0):
        y = bottom - value * (bottom - top)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 24}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="muted" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    group = (width - 24 - left) / len(tokens)
    bar = group / (len(temperatures) + 1)
    for t_index, (tau, colour) in enumerate(temperatures):
        for index, p in enumerate(softmax(logits, tau)):
            x = left + index * group + bar / 2 + t_index * bar
            h = p * (bottom - top)
            parts.append(f'<rect x="{x:.1f}" y="{bottom - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="var({colour})"/>')
        y = top + 12 + t_index * 20
        parts.append(
            f'<rect x="{width - 150}" y="{y - 7}" width="14" height="14" fill="var({colour})"/>'
            f'<text x="{width - 128}" y="{y + 4}">τ = {tau:g}</text>'
        )
    for index, token in enumerate(tokens):
        x = left + index * group + group / 2
        parts.append(f'<text x="{x:.1f}" y="{bottom + 20}" text-anchor="middle">“{token}” (z = {logits[index]:g})</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{width - 24}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(
        f'<text x="16" y="{(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 {(top + bottom) / 2})">'
        "probability</text>"
    )
    return svg(width, height, "Softmax of five logits at temperatures 0.5, 1 and 2", parts)


def attention_weights() -> str:
    """Causal attention weights of one head over a short sentence: a heat map, row t over positions ≤ t."""
    tokens = ["The", "cat", "sat", "on", "the", "mat"]
    # scores from fixed 2-d queries and keys: deterministic, and enough to give each row its own shape
    keys = [(1.0, 0.2), (0.3, 1.4), (1.2, -0.6), (-0.4, 0.8), (0.9, 0.1), (0.2, 1.6)]
    queries = [(0.5, 0.5), (1.5, 0.4), (0.2, 1.8), (1.0, -0.8), (0.4, 0.6), (0.1, 2.0)]
    cell, left, top = 56, 96, 64
    width, height = left + cell * len(tokens) + 24, top + cell * len(tokens) + 24
    parts = [f'<text x="{left + cell * len(tokens) / 2}" y="20" text-anchor="middle">keys (attended to)</text>']
    for j, token in enumerate(tokens):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 12}" text-anchor="middle">{token}</text>')
    for t, token in enumerate(tokens):
        y = top + t * cell
        parts.append(f'<text x="{left - 10}" y="{y + cell / 2 + 4}" text-anchor="end">{token}</text>')
        scores = [(queries[t][0] * k[0] + queries[t][1] * k[1]) / math.sqrt(2) for k in keys[: t + 1]]
        weights = softmax(scores)
        for j in range(len(tokens)):
            x = left + j * cell
            if j > t:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="none" class="grid" stroke="var(--rule)"/>')
                continue
            w = weights[j]
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="var(--a)" fill-opacity="{0.08 + 0.92 * w:.3f}"/>'
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'style="fill: {"var(--bg)" if w > 0.5 else "var(--fg)"}">{w:.2f}</text>'
            )
    parts.append(
        f'<text x="18" y="{top + cell * len(tokens) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + cell * len(tokens) / 2})">queries (attending)</text>'
    )
    return svg(width, height, "Causal attention weights of one head over “The cat sat on the mat”", parts)


def qkv_diagram() -> str:
    """One token's query against every earlier key; weights from a softmax mix the values."""
    tokens = ["The", "cat", "sat", "on"]
    weights = [0.10, 0.62, 0.20, 0.08]
    width, height = 640, 300
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="var(--muted)"/></marker></defs>'
    ]
    x0, step = 60, 120
    for index, token in enumerate(tokens):
        x = x0 + index * step
        parts.append(f'<rect x="{x}" y="220" width="96" height="40" rx="6" fill="none" stroke="var(--fg)"/>')
        parts.append(f'<text x="{x + 48}" y="245" text-anchor="middle">{token}</text>')
        parts.append(f'<rect x="{x + 8}" y="150" width="36" height="30" rx="4" fill="var(--c)" fill-opacity="0.25" stroke="var(--c)"/>')
        parts.append(f'<text x="{x + 26}" y="170" text-anchor="middle">k</text>')
        parts.append(f'<rect x="{x + 52}" y="150" width="36" height="30" rx="4" fill="var(--b)" fill-opacity="0.25" stroke="var(--b)"/>')
        parts.append(f'<text x="{x + 70}" y="170" text-anchor="middle">v</text>')
        parts.append(f'<line x1="{x + 48}" y1="218" x2="{x + 48}" y2="184" stroke="var(--muted)" marker-end="url(#arrow)"/>')
        parts.append(
            f'<line x1="{x + 70}" y1="148" x2="{x0 + 3 * step + 48}" y2="62" stroke="var(--a)" '
            f'stroke-width="{1 + 8 * weights[index]:.1f}" stroke-opacity="0.8"/>'
        )
        parts.append(f'<text class="muted" x="{x + 26}" y="140" text-anchor="middle">{weights[index]:.2f}</text>')
    qx = x0 + 3 * step
    parts.append(f'<rect x="{qx + 100}" y="150" width="36" height="30" rx="4" fill="var(--a)" fill-opacity="0.25" stroke="var(--a)"/>')
    parts.append(f'<text x="{qx + 118}" y="170" text-anchor="middle">q</text>')
    parts.append(f'<rect x="{qx - 12}" y="24" width="120" height="38" rx="6" fill="none" stroke="var(--a)" stroke-width="2"/>')
    parts.append(f'<text x="{qx + 48}" y="48" text-anchor="middle">output for “on”</text>')
    parts.append(f'<text class="muted" x="{x0}" y="40">softmax(q·k / √d) weights</text>')
    parts.append(f'<text class="muted" x="{x0}" y="58">mix the values v</text>')
    return svg(width, height, "Self-attention for the token “on”: its query against every key, weights mixing the values", parts)


def learning_rate_schedule() -> str:
    """Linear warmup then cosine decay, as in Chapter 6 of LLM Primer II."""
    steps, warmup, peak, floor = 10_000, 500, 3e-4, 3e-5

    def rate(k: float) -> float:
        if k < warmup:
            return peak * k / warmup
        return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * (k - warmup) / (steps - warmup)))

    plot = Plot(640, 300, (0, steps), (0, 3.3e-4))
    plot.legend = []
    plot.axes(
        [(k, f"{k // 1000}k") for k in range(0, steps + 1, 2000)],
        [(v * 1e-4, f"{v:g}e-4" if v else "0") for v in (0, 1, 2, 3)],
        "training step",
        "learning rate η",
    )
    plot.curve([(k, rate(k)) for k in range(0, steps + 1, 50)], "--a", "warmup + cosine")
    plot.curve([(0, peak), (steps, peak)], "--muted", "constant η", dash="6 5")
    return plot.render("Learning rate over 10,000 steps: 500 steps of linear warmup, then cosine decay")


def scaling_law() -> str:
    """L(N, D) = E + A/N^α + B/D^β along compute-optimal runs and two fixed model sizes, log-log."""
    e, a, b, alpha, beta = 1.69, 406.4, 410.7, 0.34, 0.28  # a published fit's constants, rounded

    def loss(n: float, d: float) -> float:
        return e + a / n**alpha + b / d**beta

    plot = Plot(640, 320, (18, 24), (math.log10(1.9), math.log10(6)), log=True)
    plot.legend = []
    plot.axes(
        [(10.0**p, f"10<tspan dy='-6' font-size='10'>{p}</tspan>") for p in range(18, 25)],
        [(v, f"{v:g}") for v in (2, 3, 4, 5)],
        "training compute C (FLOPs)",
        "loss",
    )
    budgets = [10 ** (18 + i * 0.1) for i in range(61)]

    def best(c: float) -> float:  # the lowest loss over model sizes for this compute: N on a fine log grid
        return min(loss(10 ** (p / 20), c / (6 * 10 ** (p / 20))) for p in range(100, 260))

    plot.curve([(c, best(c)) for c in budgets], "--a", "compute-optimal")
    for n, colour, dash in ((1e8, "--b", "6 4"), (1e9, "--c", "2 4")):
        points = [(c, loss(n, c / (6 * n))) for c in budgets if c / (6 * n) > 1e8]
        plot.curve(points, colour, f"N = 10<tspan dy='-6' font-size='10'>{int(math.log10(n))}</tspan>", dash=dash)
    return plot.render("Loss against compute: compute-optimal training, and models of fixed size that stop improving")


FIGURES = {
    "primer-ii/softmax-temperature.svg": softmax_temperature,
    "primer-ii/attention-weights.svg": attention_weights,
    "primer-ii/learning-rate-schedule.svg": learning_rate_schedule,
    "primer-ii/scaling-law.svg": scaling_law,
    "primer-i/self-attention.svg": qkv_diagram,
}


def main() -> None:
    for relative, make in FIGURES.items():
        (HERE / relative).write_text(make(), encoding="utf-8")
        print(f"wrote content/{relative}")


if __name__ == "__main__":
    main()
