// Typesets every .math element with KaTeX: the build emitted the TeX as the element's text. A site that typesets
// its math at build time (math: {render: build}) loads no KaTeX, and its elements are left as they are.
(function () {
  "use strict";
  function parseMacros(holder) {
    if (!holder || !holder.dataset.macros) { return {}; }
    try { return JSON.parse(holder.dataset.macros); } catch (e) { return {}; }
  }
  // The page's macros (its series', or the site's) are on <body>; an entry of a listing that shows another
  // series' post carries that series' macros itself. Older templates put the page's on this script.
  var pageMacros = parseMacros(document.currentScript);
  var elements = typeof katex === "undefined" ? [] : document.querySelectorAll(".math");
  for (var i = 0; i < elements.length; i++) {
    var element = elements[i];
    if (element.querySelector(".katex, .katex-error")) { continue; }  // typeset at build time
    var tex = element.textContent;
    var holder = element.closest("[data-macros]");
    element.setAttribute("data-tex", tex);
    katex.render(tex, element, {
      displayMode: element.classList.contains("display"),
      throwOnError: false,
      // a copy: \gdef in one formula must not leak into the next
      macros: Object.assign({}, holder ? parseMacros(holder) : pageMacros),
      trust: false
    });
  }

  // A display equation wider than the column scrolls sideways: keyboard users must be able to reach it.
  function markScrollable() {
    var displays = document.querySelectorAll(".math.display");
    for (var j = 0; j < displays.length; j++) {
      if (displays[j].scrollWidth > displays[j].clientWidth) {
        displays[j].setAttribute("tabindex", "0");
      } else {
        displays[j].removeAttribute("tabindex");
      }
    }
  }
  var pending = false;
  function markSoon() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(function () { pending = false; markScrollable(); });
    }
  }
  markScrollable();
  window.addEventListener("resize", markSoon);
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(markScrollable); }
})();
