"""A deterministic benchmark corpus: N posts of about 8 KB, for primer-site and for Hugo.

    python bench/corpus.py --posts 1000 --out bench/out/corpus-1000

writes two copies of the same content:

    OUT/primer/   site.yaml, series/<slug>.md, content/<series>/<post>.md   (primer-site's format)
    OUT/hugo/     hugo.toml and layouts/ (copied from bench/hugo/), content/posts/<post>.md,
                  content/series/<slug>/_index.md, content/categories/_index.md   (Hugo's format)

Every post has front matter (title, date, summary, series, chapter, tags, category) and a body
with 3–5 `##` headings, a bulleted list, a table, a Python code block, inline math `$...$` and
display math `$$...$$`. Posts come in series of 20: integer chapters, and a few dotted sections
("4.1", written as quoted strings). The same --posts and --seed give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
HUGO_SKELETON = BENCH_DIR / "hugo"

SITE_TITLE = "Bench Primer"
BASE_URL = "https://bench.example.org/"
DESCRIPTION = "A synthetic corpus for timing static site generators."
PAGINATE = 10
POSTS_PER_SERIES = 20
TARGET_BYTES = 8 * 1024
# The newest post; run.py builds with --now 2026-06-01, so every post is published.
LAST_DATE = datetime(2026, 5, 31, 6, 0, tzinfo=UTC)
STEP = timedelta(hours=6)

_WORD_TEXT = """
attention gradient entropy token embedding layer vector matrix softmax logit decoder encoder
sequence batch optimizer momentum variance estimate sample prior posterior likelihood kernel
feature residual norm scale weight bias activation transformer context window position rotary
head projection query key value cache memory throughput latency shard replica checkpoint schedule
warmup decay dropout regularizer penalty curvature hessian jacobian manifold subspace rank basis
eigenvalue spectrum signal noise channel capacity divergence information compression code model
inference decoding beam search temperature nucleus calibration metric benchmark dataset corpus
vocabulary merge byte pair unigram segment alignment reward policy preference feedback critic
advantage return horizon discount trajectory rollout buffer replay target network update step
the a of to and in is that for with as on by this it from we each which its can be are not
"""
WORDS = _WORD_TEXT.split()
CONTENT_WORDS = WORDS[: WORDS.index("the")]  # for titles, headings and names

TAG_POOL = [
    "attention", "transformers", "embeddings", "tokenization", "optimization", "adam",
    "learning rate", "regularization", "dropout", "normalization", "information theory",
    "entropy", "probability", "statistics", "linear algebra", "calculus", "autodiff",
    "backpropagation", "convolution", "recurrence", "sampling", "decoding", "beam search",
    "evaluation", "benchmarks", "datasets", "scaling laws", "distributed training",
    "mixed precision", "quantization", "distillation", "pruning", "fine-tuning", "rlhf",
    "reward models", "alignment", "interpretability", "probing", "retrieval", "kv cache",
    "inference", "serving", "compilers", "kernels", "gpu", "memory", "long context",
    "positional encoding", "mixture of experts", "state space models",
]  # fmt: skip
CATEGORIES = ["Mathematics", "Modeling", "Training", "Inference", "Systems", "Evaluation", "Theory", "Tooling"]

# Valid TeX; each is followed by a space or punctuation in the prose, never a digit.
INLINE_MATH = [
    r"x_{{{k}}}",
    r"\alpha = {a}",
    r"p(x \mid y)",
    r"\mathbb{{E}}[X_{k}]",
    r"O(n \log n)",
    r"\sigma^{k}",
    r"\nabla_\theta \mathcal{{L}}",
    r"W \in \mathbb{{R}}^{{d \times {k}}}",
    r"\sum_{{i=1}}^{{{k}}} x_i",
    r"\lVert v \rVert_{k}",
    r"\frac{{1}}{{\sqrt{{d_{k}}}}}",
    r"e^{{-\lambda t}}",
    r"0 < \epsilon < {a}",
    r"h_{{t}} = f(h_{{t-1}}, x_{{t}})",
]
DISPLAY_MATH = [
    r"\mathrm{{Attention}}(Q, K, V) = \mathrm{{softmax}}\left(\frac{{Q K^\top}}{{\sqrt{{d_{k}}}}}\right) V",
    r"H(X) = -\sum_{{x}} p(x) \log p(x) \le \log {k}",
    r"D_{{\mathrm{{KL}}}}(p \,\|\, q) = \sum_{{x}} p(x) \log \frac{{p(x)}}{{q(x)}}",
    "\\begin{{aligned}}\n\\theta_{{t+1}} &= \\theta_t - \\eta \\, \\hat m_t / (\\sqrt{{\\hat v_t}} + \\epsilon) \\\\\n"
    "\\hat m_t &= m_t / (1 - \\beta_1^{{{k}}})\n\\end{{aligned}}",
    r"\mathcal{{L}}(\theta) = -\frac{{1}}{{N}} \sum_{{n=1}}^{{N}} \log p_\theta(y_n \mid x_n) + {a} \lVert \theta \rVert_2^2",
    r"\operatorname{{PPL}} = \exp\Bigl(-\frac{{1}}{{T}} \sum_{{t=1}}^{{T}} \log p(x_t \mid x_{{<t}})\Bigr)",
]

CODE_TEMPLATES = [
    '''import math


def {name}(values: list[float], temperature: float = {a}) -> list[float]:
    """Softmax of `values` at a temperature, computed stably."""
    top = max(values)
    exps = [math.exp((v - top) / temperature) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


if __name__ == "__main__":
    print({name}([1.0, 2.0, {k}.0]))
''',
    '''from collections import Counter


def {name}(text: str, merges: int = {k}) -> dict[tuple[str, str], int]:
    """Count adjacent symbol pairs, the first step of byte-pair encoding."""
    words = Counter(text.split())
    pairs: Counter[tuple[str, str]] = Counter()
    for word, count in words.items():
        symbols = list(word)
        for left, right in zip(symbols, symbols[1:]):
            pairs[left, right] += count
    return dict(pairs.most_common(merges))
''',
    '''class {cls}:
    """Adam, written out: first and second moment estimates with bias correction."""

    def __init__(self, lr: float = {a}, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.m = self.v = 0.0
        self.t = 0

    def step(self, grad: float) -> float:
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1 ** self.t)
        v_hat = self.v / (1 - self.beta2 ** self.t)
        return -self.lr * m_hat / (v_hat ** 0.5 + 1e-8)
''',
    '''import numpy as np


def {name}(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Scaled dot-product attention over the last two axes."""
    scores = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v  # shape: (..., {k}, d)
''',
]


@dataclass(frozen=True)
class Post:
    index: int
    slug: str
    series: str
    series_title: str
    chapter: str  # "3" or "3.1"
    weight: int  # rank in its series, 1-based
    title: str
    date: datetime
    summary: str
    tags: tuple[str, ...]
    category: str
    body: str


@dataclass(frozen=True)
class SeriesInfo:
    slug: str
    title: str
    chapters: int  # planned integer chapters
    description: str


def generator_fingerprint() -> str:
    """Changes whenever this file or the Hugo skeleton does: cached corpora are rebuilt then."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(HUGO_SKELETON.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(HUGO_SKELETON).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def make_corpus(posts: int, seed: int = 1) -> tuple[list[SeriesInfo], list[Post]]:
    rng = random.Random(seed)
    series_list: list[SeriesInfo] = []
    result: list[Post] = []
    first_date = LAST_DATE - STEP * (posts - 1)
    number = 0
    while len(result) < posts:
        size = min(POSTS_PER_SERIES, posts - len(result))
        number += 1
        words = rng.sample(CONTENT_WORDS, 2)
        slug = f"s{number:04d}-{words[0]}-{words[1]}"
        title = f"{words[0].capitalize()} and {words[1].capitalize()}, Volume {number}"
        chapters = _chapter_numbers(rng, size)
        planned = max(int(c.split(".")[0]) for c in chapters) + rng.randint(0, 3)
        series_list.append(SeriesInfo(slug, title, planned, _paragraph(rng, 40, math=True)))
        for weight, chapter in enumerate(chapters, start=1):
            index = len(result)
            head = rng.sample(CONTENT_WORDS, 3)
            label = f"Section {chapter}" if "." in chapter else f"Chapter {chapter}"
            result.append(
                Post(
                    index=index,
                    slug=f"p{index + 1:05d}-{head[0]}-{head[1]}",
                    series=slug,
                    series_title=title,
                    chapter=chapter,
                    weight=weight,
                    title=f"{label}: {' '.join(head).capitalize()}",
                    date=first_date + STEP * index,
                    summary=_sentence(rng, 14, 24, math=False),
                    tags=tuple(rng.sample(TAG_POOL, rng.randint(2, 4))),
                    category=rng.choice(CATEGORIES),
                    body=_body(rng),
                )
            )
    return series_list, result


def _chapter_numbers(rng: random.Random, size: int) -> list[str]:
    """`size` chapters in reading order: integers 1..k, with size // 5 dotted sections among them."""
    dotted = size // 5
    whole = size - dotted
    parents = sorted(rng.sample(range(1, whole + 1), dotted)) if dotted <= whole else []
    numbers: list[str] = []
    for chapter in range(1, whole + 1):
        numbers.append(str(chapter))
        numbers += [f"{chapter}.{k}" for k in range(1, parents.count(chapter) + 1)]
    return numbers


def _math(rng: random.Random, templates: list[str]) -> str:
    return rng.choice(templates).format(k=rng.randint(2, 9), a=f"0.{rng.randint(1, 9)}")


def _sentence(rng: random.Random, low: int, high: int, math: bool) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    if math and rng.random() < 0.5:
        words.insert(rng.randint(1, len(words) - 1), f"${_math(rng, INLINE_MATH)}$")
    if rng.random() < 0.2:
        words.insert(rng.randint(1, len(words) - 1), f"`{rng.choice(WORDS)}_{rng.randint(1, 9)}`")
    if rng.random() < 0.2:
        at = rng.randint(1, len(words) - 1)
        words[at] = f"**{words[at]}**"
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def _paragraph(rng: random.Random, words: int, math: bool = True) -> str:
    sentences: list[str] = []
    count = 0
    while count < words:
        sentence = _sentence(rng, 8, 20, math)
        sentences.append(sentence)
        count += sentence.count(" ") + 1
    return " ".join(sentences)


def _heading(rng: random.Random, used: set[str]) -> str:
    while True:
        text = " ".join(rng.sample(CONTENT_WORDS, rng.randint(2, 4))).capitalize()
        if text not in used:
            used.add(text)
            return text


def _bullets(rng: random.Random) -> str:
    return "\n".join(f"- {_sentence(rng, 4, 12, math=True)}" for _ in range(rng.randint(3, 6)))


def _table(rng: random.Random) -> str:
    rows = ["| Model | Parameters | Loss | Tokens/s |", "|:------|-----------:|-----:|---------:|"]
    for _ in range(rng.randint(3, 6)):
        name = f"{rng.choice(CONTENT_WORDS)}-{rng.randint(1, 99)}"
        params = f"{rng.randint(1, 900)}M"
        rows.append(f"| {name} | {params} | {rng.uniform(1.5, 4.5):.3f} | {rng.randint(100, 90000)} |")
    return "\n".join(rows)


def _code(rng: random.Random) -> str:
    name = "_".join(rng.sample(CONTENT_WORDS, 2))
    code = rng.choice(CODE_TEMPLATES).format(
        name=name, cls="".join(w.capitalize() for w in name.split("_")), k=rng.randint(2, 9), a=f"0.{rng.randint(1, 9)}"
    )
    return f"```python\n{code}```"


def _display(rng: random.Random) -> str:
    return f"$$\n{_math(rng, DISPLAY_MATH)}\n$$"


def _body(rng: random.Random) -> str:
    """About TARGET_BYTES of Markdown: the fixed elements, then prose until the size is reached."""
    used: set[str] = set()
    sections: list[list[str]] = [[_paragraph(rng, 60)]]
    for _ in range(rng.randint(3, 5)):
        sections.append([f"## {_heading(rng, used)}", _paragraph(rng, 50)])
    # one of each element, in sections chosen at random (the first section is the intro)
    for element in (_bullets(rng), _table(rng), _code(rng), _display(rng), _display(rng)):
        sections[rng.randint(1, len(sections) - 1)].append(element)
    size = sum(len(block) + 2 for section in sections for block in section)
    while size < TARGET_BYTES - 600:  # front matter makes up the rest
        paragraph = _paragraph(rng, rng.randint(40, 90))
        sections[rng.randint(0, len(sections) - 1)].append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(block for section in sections for block in section) + "\n"


def _yaml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _chapter_yaml(chapter: str) -> str:
    return _yaml_string(chapter) if "." in chapter else chapter


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def primer_post(post: Post) -> str:
    return (
        "---\n"
        f"title: {_yaml_string(post.title)}\n"
        f"date: {_iso(post.date)}\n"
        f"summary: {_yaml_string(post.summary)}\n"
        f"series: {post.series}\n"
        f"chapter: {_chapter_yaml(post.chapter)}\n"
        f"tags: [{', '.join(_yaml_string(t) for t in post.tags)}]\n"
        f"category: {post.category}\n"
        "---\n" + post.body
    )


def hugo_post(post: Post) -> str:
    return (
        "---\n"
        f"title: {_yaml_string(post.title)}\n"
        f"date: {_iso(post.date)}\n"
        f"summary: {_yaml_string(post.summary)}\n"
        f"series: [{post.series}]\n"
        f"series_weight: {post.weight}\n"
        f"chapter: {_chapter_yaml(post.chapter)}\n"
        f"tags: [{', '.join(_yaml_string(t) for t in post.tags)}]\n"
        f"categories: [{post.category}]\n"
        "---\n" + post.body
    )


def write_corpus(out: Path, posts: int, seed: int = 1, images: bool = False, srcset: bool = False) -> None:
    """Write OUT/primer and OUT/hugo (replacing them), then a stamp saying what was written.

    `images`: each primer-site post also shows one PNG beside it (1200 × 675, a plot-like gradient), as a figure
    after its first paragraph; `srcset`: the site asks for 480 and 960 px copies of wide images."""
    series_list, items = make_corpus(posts, seed)
    for name in ("primer", "hugo"):
        shutil.rmtree(out / name, ignore_errors=True)
    primer, hugo = out / "primer", out / "hugo"
    (primer / "series").mkdir(parents=True)
    (hugo / "content" / "posts").mkdir(parents=True)
    (primer / "site.yaml").write_text(
        f"title: {SITE_TITLE}\nbase_url: {BASE_URL}\ndescription: {DESCRIPTION}\ntimezone: UTC\npaginate: {PAGINATE}\n"
        + ("images: {srcset: [480, 960]}\n" if srcset else ""),
        encoding="utf-8",
    )
    # primer-site gives series and tags a feed, not categories: Hugo's category pages get HTML only
    (hugo / "content" / "categories").mkdir(parents=True)
    (hugo / "content" / "categories" / "_index.md").write_text(
        "---\ntitle: Categories\ncascade:\n  - outputs: [html]\n    target:\n      kind: term\n---\n", encoding="utf-8"
    )
    for one in series_list:
        meta = f"---\ntitle: {_yaml_string(one.title)}\nchapters: {one.chapters}\n---\n{one.description}\n"
        (primer / "series" / f"{one.slug}.md").write_text(meta, encoding="utf-8")
        (primer / "content" / one.slug).mkdir(parents=True)
        (hugo / "content" / "series" / one.slug).mkdir(parents=True)
        hugo_meta = meta.replace("\n---\n", "\noutputs: [html, rss, print]\n---\n", 1)  # and the print page
        (hugo / "content" / "series" / one.slug / "_index.md").write_text(hugo_meta, encoding="utf-8")
    for post in items:
        text = primer_post(post)
        if images:
            _write_figure(primer / "content" / post.series / f"{post.slug}.png", post.index)
            first, _, rest = text.partition("\n\n")
            figure = f'![A plot for {post.slug}]({post.slug}.png "Figure of {post.slug}"){{#fig:{post.slug}}}'
            text = f"{first}\n\n{figure}\n\n{rest}"
        (primer / "content" / post.series / f"{post.slug}.md").write_text(text, encoding="utf-8")
        (hugo / "content" / "posts" / f"{post.slug}.md").write_text(hugo_post(post), encoding="utf-8")
    install_hugo_skeleton(hugo)
    (out / "stamp.json").write_text(json.dumps(_stamp(posts, seed)), encoding="utf-8")


def _write_figure(path: Path, index: int) -> None:
    """A 1200 × 675 PNG that compresses like a plot (smooth shading, a few lines), different for every post."""
    from PIL import Image, ImageDraw

    shade = Image.linear_gradient("L").resize((1200, 675))
    image = Image.merge("RGB", (shade, shade.rotate(90).resize((1200, 675)), Image.new("L", (1200, 675), index % 256)))
    draw = ImageDraw.Draw(image)
    for line in range(6):
        y = 60 + ((index * 37 + line * 97) % 560)
        draw.line([(40, y), (1160, 675 - y)], fill=(20 * line, 40, 200 - 20 * line), width=4)
    image.save(path, optimize=True)


def install_hugo_skeleton(hugo_site: Path) -> None:
    """Copy bench/hugo/ (hugo.toml, layouts/) into a generated Hugo site."""
    for path in sorted(HUGO_SKELETON.rglob("*")):
        target = hugo_site / path.relative_to(HUGO_SKELETON)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _stamp(posts: int, seed: int) -> dict[str, object]:
    return {"posts": posts, "seed": seed, "generator": generator_fingerprint()}


def ensure_corpus(out: Path, posts: int, seed: int = 1) -> bool:
    """Generate into `out` unless an identical corpus is already there; True when it generated."""
    stamp = out / "stamp.json"
    try:
        if json.loads(stamp.read_text(encoding="utf-8")) == _stamp(posts, seed):
            return False
    except (OSError, ValueError):
        pass
    write_corpus(out, posts, seed)
    return True


def post_paths(out: Path) -> list[Path]:
    """The primer-site source files of a generated corpus, sorted."""
    return sorted((out / "primer" / "content").glob("*/*.md"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, required=True, help="number of posts")
    parser.add_argument("--out", type=Path, required=True, help="folder to write primer/ and hugo/ into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--images", action="store_true", help="one PNG figure beside each primer-site post")
    parser.add_argument("--srcset", action="store_true", help="with --images: 480 and 960 px copies (site.yaml)")
    args = parser.parse_args(argv)
    if args.posts < 1:
        parser.error("--posts must be at least 1")
    write_corpus(args.out, args.posts, args.seed, args.images, args.srcset)
    print(f"wrote {args.posts} posts to {args.out / 'primer'} and {args.out / 'hugo'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
