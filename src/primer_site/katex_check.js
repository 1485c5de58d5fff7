// The build-time math check: every formula through KaTeX, in one process for the whole build.
//
//   node katex_check.js /path/to/node_modules/katex
//
// Says {"katex": VERSION} first, then reads JSON lines on stdin:
//   {"macros": "ID", "define": {"\\E": "\\mathbb{E}"}}   a set of macros, named once
//   {"id": N, "tex": "...", "display": true, "macros": "ID"}
// and answers each formula with one line: {"id": N} or {"id": N, "error": "KaTeX parse error: ..."}.
"use strict";

const readline = require("readline");
const katex = require(process.argv[2] || "katex");

const macroSets = new Map();
// Parsing and building the HTML tree is where KaTeX finds every error a reader would see, at a third of the
// cost of renderToString (no markup string, no MathML); the public function is the fallback.
const render = katex.__renderToHTMLTree || katex.renderToString;

function check(request) {
  // a fresh copy per formula: \gdef in one formula must not define a macro for the next
  const macros = Object.assign({}, macroSets.get(request.macros) || {});
  try {
    // the options math.js gives katex.render in the browser, but throwing: an error is what we look for
    render(request.tex, {
      displayMode: Boolean(request.display),
      throwOnError: true,
      macros: macros,
      trust: false,
      strict: "ignore",
    });
    return { id: request.id };
  } catch (error) {
    const message = error instanceof katex.ParseError ? error.message : `KaTeX failed: ${error && error.message}`;
    // KaTeX underlines the bad spot with combining characters, which a terminal shows as noise
    return { id: request.id, error: message.replace(/\u0332/g, "") };
  }
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
  out.push(JSON.stringify(check(request)) + "\n");
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
lines.on("close", flush);
