// The pinned KaTeX as a service: checks formulas and renders them, in one Node process (katex.py runs it).
//
//   node katex_worker.js /path/to/node_modules/katex
//
// Says {"katex": VERSION} first, then reads JSON lines on stdin:
//   {"macros": "ID", "define": {"\\E": "\\mathbb{E}"}}     a set of macros, named once for the process's life
//   {"id": N, "tex": "...", "display": true, "macros": "ID", "want": "check"}   or "want": "mathml" or "html"
//   {"sync": N}                                            "tell me when you have answered all before this"
// and answers each formula with one line, {"id": N}, {"id": N, "mathml": "<math …>…</math>"},
// {"id": N, "mathml": "<math …>…</math>", "html": "<span class=\"katex\">…</span>", "fonts": ["KaTeX_Main-Regular.woff2"]} or
// {"id": N, "error": "KaTeX parse error: …"}, and each sync with {"sync": N}. It ends when stdin closes.
"use strict";

const fs = require("fs");
const path = require("path");
const readline = require("readline");
const katex = require(process.argv[2] || "katex");

// stdout carries the answers alone: \message and \show in a formula print with console.log
console.log = console.info = console.debug = console.warn = () => {};

const macroSets = new Map();
// Parsing and building the HTML tree is where KaTeX finds every error a reader would see, at a third of the
// cost of renderToString (no markup string, no MathML); the public function is the fallback.
const renderHTMLTree = katex.__renderToHTMLTree || katex.renderToString;
// Token elements hold text. KaTeX puts elements in some (\mathbin, \stackrel, \overset, \coloneqq, \bmod…),
// which an HTML parser (a feed reader's) reads as HTML elements, losing the formula's structure.
const TOKENS = new Set(["mi", "mn", "mo", "ms", "mtext"]);

// The options math.js gives katex.render in the browser, but throwing: an error is what the check looks for.
// Trust stays off, as in the browser, but what asks for it is noted: there KaTeX shows it as red TeX.
function options(request, output, untrusted) {
  return {
    displayMode: Boolean(request.display),
    throwOnError: true,
    // a fresh copy per formula: \gdef in one formula must not define a macro for the next
    macros: Object.assign({}, macroSets.get(request.macros) || {}),
    trust: (context) => {
      untrusted.push(context.command);
      return false;
    },
    strict: "ignore",
    output: output,
  };
}

function answer(request) {
  const untrusted = [];
  try {
    // "html": what katex.render puts in a page's math element (its HTML and MathML), made once, which also checks
    const page =
      request.want === "html"
        ? katex.__renderToDomTree(request.tex, options(request, "htmlAndMathml", untrusted))
        : renderHTMLTree(request.tex, options(request, "html", untrusted));
    if (untrusted.length) {
      const error =
        `${untrusted[0]} needs trust, which primer-site never gives TeX: a formula makes no link, image, ` +
        "id, class or style (a link goes in the Markdown around it)";
      return { id: request.id, error: error };
    }
    if (request.want === "html") {
      // the page's MathML is parsed by the reader's browser as HTML too: the same repair as for feeds, and the
      // same <math> element as output "mathml" makes (KaTeX builds it once, whatever the output)
      readableByHTMLParsers(page);
      return { id: request.id, mathml: mathElement(page).toMarkup(), html: page.toMarkup(), fonts: fontsOf(page) };
    }
    if (request.want !== "mathml") {
      return { id: request.id };
    }
    // KaTeX's tree for output "mathml" is <span class="katex"> around the <math> element
    const math = katex.__renderToDomTree(request.tex, options(request, "mathml", untrusted)).children[0];
    return { id: request.id, mathml: readableByHTMLParsers(math).toMarkup() };
  } catch (error) {
    const message = error instanceof katex.ParseError ? error.message : `KaTeX failed: ${error && error.message}`;
    // KaTeX underlines the bad spot with combining characters, which a terminal shows as noise
    return { id: request.id, error: message.replace(/\u0332/g, "") };
  }
}

// A token element holding elements becomes an mrow (an mstyle if it has attributes, such as mathvariant, for
// what it holds to inherit): the same layout in MathML, and a tree an HTML parser reads back as it was.
function readableByHTMLParsers(node) {
  if (node.children) {
    node.children.forEach(readableByHTMLParsers);
    if (TOKENS.has(node.type) && holdsElements(node)) {
      node.type = Object.keys(node.attributes).length ? "mstyle" : "mrow";
    }
  }
  return node;
}

// The <math> element in KaTeX's tree for output "htmlAndMathml": <span class="katex"> (in <span class="katex-display">
// for display math) holding <span class="katex-mathml"><math>…</math></span> and the HTML.
function mathElement(node) {
  if (node.type === "math") {
    return node;
  }
  for (const child of node.children || []) {
    const found = mathElement(child);
    if (found) {
      return found;
    }
  }
  return null;
}

// The fonts a formula's HTML shows text in (their woff2 files), picked as katex.css picks them: its @font-face
// rules, and its rules giving KaTeX's classes a family, style or weight. A page preloads them, so that no text is
// laid out in a fallback font and moved when KaTeX's arrives (a layout shift).
const STYLESHEET = process.argv[2]
  ? path.join(process.argv[2], "dist", "katex.min.css")
  : require.resolve("katex/dist/katex.min.css");
const { faces, rules } = readStylesheet(fs.readFileSync(STYLESHEET, "utf8"));

function declarations(body) {
  const found = {};
  for (const part of body.split(";")) {
    const colon = part.indexOf(":");
    if (colon > 0) found[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return found;
}

function weightOf(value) {
  return value === "bold" ? "700" : value === "normal" ? "400" : value;
}

function readStylesheet(css) {
  const faces = new Map(); // "family|style|weight" → woff2 file
  const rest = css.replace(/@font-face\{([^}]*)\}/g, (_, body) => {
    const face = declarations(body);
    const file = /url\(fonts\/([^)]+\.woff2)\)/.exec(face.src || "");
    if (file) faces.set(`${face["font-family"]}|${face["font-style"] || "normal"}|${weightOf(face["font-weight"] || "400")}`, file[1]);
    return "";
  });
  const rules = [];
  for (const [, selectors, body] of rest.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    const given = declarations(body);
    const font = {};
    const shorthand = given.font && /(KaTeX_\w+)/.exec(given.font); // .katex{font:normal 1.21em KaTeX_Main,…}
    if (shorthand) Object.assign(font, { family: shorthand[1], style: "normal", weight: "400" });
    if (given["font-family"]) font.family = given["font-family"].split(",")[0].trim();
    if (given["font-style"]) font.style = given["font-style"];
    if (given["font-weight"]) font.weight = weightOf(given["font-weight"]);
    if (!Object.keys(font).length) continue;
    for (const selector of selectors.split(",")) {
      const compounds = parseSelector(selector.trim());
      if (compounds) {
        const specificity = compounds.reduce((sum, c) => sum + 10 * c.classes.length + (c.tag ? 1 : 0), 0);
        rules.push({ compounds, font, specificity, order: rules.length });
      }
    }
  }
  rules.sort((a, b) => a.specificity - b.specificity || a.order - b.order);
  return { faces, rules };
}

// ".katex .delimsizing.mult .delim-size1>span" → compounds (tag, classes) with the combinator before each;
// null for a selector of another kind (KaTeX's font rules have none)
function parseSelector(selector) {
  const compounds = [];
  for (const [, combinator, text] of selector.matchAll(/\s*(>?)\s*([^\s>]+)/g)) {
    const match = /^([a-z]*)((?:\.[\w-]+)*)$/.exec(text);
    if (!match) return null;
    compounds.push({ combinator: combinator || " ", tag: match[1], classes: match[2].split(".").filter(Boolean) });
  }
  return compounds.length ? compounds : null;
}

// whether the element (its ancestors before it, outermost first) matches the selector, read from its right
function matches(compounds, chain) {
  let at = chain.length - 1;
  for (let i = compounds.length - 1; i >= 0; i--) {
    const fits = (node) => node.classes && compounds[i].classes.every((c) => node.classes.includes(c)) &&
      (!compounds[i].tag || compounds[i].tag === "span");
    if (i === compounds.length - 1) {
      if (!fits(chain[at])) return false;
    } else if (compounds[i + 1].combinator === ">") {
      if (!(at > 0 && fits(chain[--at]))) return false;
    } else {
      do { at--; } while (at >= 0 && !fits(chain[at]));
      if (at < 0) return false;
    }
  }
  return true;
}

function fontsOf(tree) {
  const used = new Set();
  (function walk(node, chain, inherited) {
    if (node.classes && node.classes.includes("katex-mathml")) return; // hidden; the browser's math font shows it
    const here = [...chain, node];
    let font = inherited;
    if (node.classes) {
      for (const rule of rules) {
        if (matches(rule.compounds, here)) font = { ...font, ...rule.font };
      }
    }
    if (typeof node.text === "string" && node.text && font.family) {
      const file = faceFile(font);
      if (file) used.add(file);
    }
    for (const child of node.children || []) walk(child, here, font);
  })(tree, [], {});
  return [...used].sort();
}

// the face a browser picks: the family's face of that style and weight, else of that style, else its regular
function faceFile(font) {
  const style = font.style || "normal";
  const weight = font.weight || "400";
  for (const key of [`${font.family}|${style}|${weight}`, `${font.family}|${style}|400`, `${font.family}|normal|${weight}`, `${font.family}|normal|400`]) {
    if (faces.has(key)) return faces.get(key);
  }
  return null;
}

// MathNode has a type, SpaceNode (an <mspace> or <mtext>) has neither type nor children, TextNode has text
function holdsElements(node) {
  return node.children.some(
    (child) => typeof child.text !== "string" && (child.type !== undefined || !child.children || holdsElements(child)),
  );
}

// Answers are written in batches, once each burst of input lines has been read.
const out = [];
let scheduled = false;
function flush() {
  scheduled = false;
  if (out.length) {
    process.stdout.write(out.join(""));
    out.length = 0;
  }
}

process.stdout.write(JSON.stringify({ katex: katex.version }) + "\n");
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line) return;
  const request = JSON.parse(line);
  if (request.define) {
    macroSets.set(request.macros, request.define);
    return;
  }
  out.push(JSON.stringify(request.sync !== undefined ? { sync: request.sync } : answer(request)) + "\n");
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
lines.on("close", flush);
